package chat

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// ParseRequest decodes a client's Chat Completions request into r. Unknown
// members are ignored; a member of the wrong type or a feature that cannot
// be translated (audio, file ids, n > 1) is an invalid-request error naming
// the member.
func ParseRequest(body []byte) (*llm.Request, error) {
	if !gjson.ValidBytes(body) {
		return nil, invalid("", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, invalid("", "the request body must be a JSON object")
	}
	r := &llm.Request{}
	for _, step := range []func(*llm.Request, gjson.Result) error{
		parseBasics, parseSampling, parseMessages, parseTools, parseToolChoice, parseFormat, parseReasoning,
	} {
		if err := step(r, root); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func parseBasics(r *llm.Request, root gjson.Result) error {
	var err error
	if r.Model, err = reqString(root.Get("model"), "model"); err != nil {
		return err
	}
	stream, err := optBool(root.Get("stream"), "stream")
	if err != nil {
		return err
	}
	r.Stream = stream != nil && *stream
	if r.User, err = optString(root.Get("user"), "user"); err != nil {
		return err
	}
	n, err := optInt(root.Get("n"), "n")
	switch {
	case err != nil:
		return err
	case n != nil && *n > 1:
		return invalid("n", "n > 1 is not supported when the model is served through protocol translation")
	case n != nil && *n < 1:
		return invalid("n", "'n' must be at least 1")
	}
	return parseMaxTokens(r, root)
}

// parseMaxTokens prefers max_completion_tokens, which replaced max_tokens
// (both bound reasoning tokens too).
func parseMaxTokens(r *llm.Request, root gjson.Result) error {
	for _, name := range []string{"max_completion_tokens", "max_tokens"} {
		n, err := optInt(root.Get(name), name)
		if err != nil {
			return err
		}
		if n == nil {
			continue
		}
		if *n < 1 {
			return invalid(name, fmt.Sprintf("'%s' must be a positive integer", name))
		}
		if r.MaxTokens == 0 {
			r.MaxTokens = *n
		}
	}
	return nil
}

func parseSampling(r *llm.Request, root gjson.Result) error {
	var err error
	floats := []struct {
		name string
		dst  **float64
	}{
		{"temperature", &r.Temperature}, {"top_p", &r.TopP},
		{"frequency_penalty", &r.FrequencyPenalty}, {"presence_penalty", &r.PresencePenalty},
	}
	for _, f := range floats {
		if *f.dst, err = optFloat(root.Get(f.name), f.name); err != nil {
			return err
		}
	}
	if r.Seed, err = optInt(root.Get("seed"), "seed"); err != nil {
		return err
	}
	// top_k is not an OpenAI field, but OpenAI-compatible clients of
	// vLLM-style servers send it; keep it for upstreams that have one.
	if r.TopK, err = optInt(root.Get("top_k"), "top_k"); err != nil {
		return err
	}
	r.Stop, err = parseStop(root.Get("stop"))
	return err
}

func parseStop(v gjson.Result) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Type == gjson.String {
		if v.Str == "" {
			return nil, nil
		}
		return []string{v.Str}, nil
	}
	items, err := optArray(v, "stop")
	if err != nil {
		return nil, invalid("stop", "'stop' must be a string or an array of strings")
	}
	var out []string
	for i, it := range items {
		s, err := optString(it, index("stop", i))
		if err != nil {
			return nil, err
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func parseFormat(r *llm.Request, root gjson.Result) error {
	v := root.Get("response_format")
	if isNull(v) {
		return nil
	}
	if !v.IsObject() {
		return invalid("response_format", "'response_format' must be an object")
	}
	typ, err := reqString(v.Get("type"), "response_format.type")
	if err != nil {
		return err
	}
	switch llm.FormatType(typ) {
	case llm.FormatText, llm.FormatJSONObject:
		r.Format = &llm.Format{Type: llm.FormatType(typ)}
		return nil
	case llm.FormatJSONSchema:
		r.Format, err = parseJSONSchema(v.Get("json_schema"))
		return err
	}
	return invalid("response_format.type", fmt.Sprintf("response_format type %q is not supported; use text, json_object or json_schema", typ))
}

func parseJSONSchema(v gjson.Result) (*llm.Format, error) {
	const p = "response_format.json_schema"
	if !v.IsObject() {
		return nil, invalid(p, "'"+p+"' must be an object when the type is json_schema")
	}
	f := &llm.Format{Type: llm.FormatJSONSchema}
	var err error
	if f.Name, err = optString(v.Get("name"), p+".name"); err != nil {
		return nil, err
	}
	if f.Description, err = optString(v.Get("description"), p+".description"); err != nil {
		return nil, err
	}
	if f.Schema, err = optObject(v.Get("schema"), p+".schema"); err != nil {
		return nil, err
	}
	strict, err := optBool(v.Get("strict"), p+".strict")
	f.Strict = strict != nil && *strict
	return f, err
}

var efforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true, "max": true}

// parseReasoning maps reasoning_effort. Summary is set because Chat has a
// field for the reasoning text (reasoning_content): a budget-based upstream
// should send it rather than hide it.
func parseReasoning(r *llm.Request, root gjson.Result) error {
	effort, err := optString(root.Get("reasoning_effort"), "reasoning_effort")
	if err != nil || effort == "" {
		return err
	}
	if !efforts[effort] {
		return invalid("reasoning_effort", fmt.Sprintf("reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh, max", effort))
	}
	off := effort == "none"
	r.Reasoning = &llm.Reasoning{Effort: effort, Disabled: off, Summary: !off}
	return nil
}
