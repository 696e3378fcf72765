package anthropic

import (
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// ParseRequest decodes a client's Messages API request (POST /v1/messages).
// Every rejection is an *llm.Error of KindInvalid naming the field in Param;
// unknown fields (cache_control, service_tier, container, ...) are ignored.
func ParseRequest(body []byte) (*llm.Request, error) {
	r, err := parseRequest(body, true)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ParseCountRequest decodes a POST /v1/messages/count_tokens request: the
// same shape, but max_tokens is not required.
func ParseCountRequest(body []byte) (*llm.Request, error) {
	r, err := parseRequest(body, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CountResponse is the body of a count_tokens answer.
func CountResponse(inputTokens int64) []byte {
	return []byte(`{"input_tokens":` + itoa(inputTokens) + `}`)
}

func parseRequest(body []byte, needMaxTokens bool) (*llm.Request, *llm.Error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, err
	}
	r := &llm.Request{}
	steps := []func(gjson.Result, *llm.Request) *llm.Error{
		parseModel,
		func(root gjson.Result, r *llm.Request) *llm.Error { return parseMaxTokens(root, r, needMaxTokens) },
		parseSampling,
		parseSystem,
		parseMessages,
		parseTools,
		parseToolChoice,
		parseReasoning,
		parseFormat,
	}
	for _, step := range steps {
		if err := step(root, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func parseModel(root gjson.Result, r *llm.Request) *llm.Error {
	var err *llm.Error
	r.Model, err = nonEmpty(root.Get("model"), "model")
	if err != nil {
		return err
	}
	r.Stream, err = boolean(root.Get("stream"), "stream")
	if err != nil {
		return err
	}
	meta := root.Get("metadata")
	if err := object(meta, "metadata"); err != nil {
		return err
	}
	r.User, err = str(meta.Get("user_id"), "metadata.user_id", false)
	return err
}

// parseMaxTokens reads max_tokens, which the Messages API requires. Zero
// (Anthropic's "cache pre-warm only") has no meaning elsewhere and would
// read as "unset" in llm.Request, so it is refused.
func parseMaxTokens(root gjson.Result, r *llm.Request, required bool) *llm.Error {
	n, ok, err := integer(root.Get("max_tokens"), "max_tokens")
	switch {
	case err != nil:
		return err
	case !ok && required:
		return invalid("max_tokens", "field required")
	case ok && n < 1 && required:
		return invalid("max_tokens", "must be at least 1")
	case ok && n > 0:
		r.MaxTokens = n
	}
	return nil
}

func parseSampling(root gjson.Result, r *llm.Request) *llm.Error {
	var err *llm.Error
	if r.Temperature, err = number(root.Get("temperature"), "temperature"); err != nil {
		return err
	}
	if r.TopP, err = number(root.Get("top_p"), "top_p"); err != nil {
		return err
	}
	k, ok, err := integer(root.Get("top_k"), "top_k")
	if err != nil {
		return err
	}
	if ok {
		r.TopK = &k
	}
	stops := root.Get("stop_sequences")
	if err := array(stops, "stop_sequences"); err != nil {
		return err
	}
	return each(stops, "stop_sequences", func(v gjson.Result, path string) *llm.Error {
		s, err := str(v, path, true)
		r.Stop = append(r.Stop, s)
		return err
	})
}

// parseSystem reads system as a string or as text blocks; empty texts are
// left out (they carry nothing and Anthropic itself rejects empty blocks).
func parseSystem(root gjson.Result, r *llm.Request) *llm.Error {
	sys := root.Get("system")
	switch {
	case absent(sys):
		return nil
	case sys.Type == gjson.String:
		if sys.Str != "" {
			r.System = []llm.Part{{Kind: llm.PartText, Text: sys.Str}}
		}
		return nil
	case !sys.IsArray():
		return invalid("system", "must be a string or an array of text blocks")
	}
	return each(sys, "system", func(b gjson.Result, path string) *llm.Error {
		if !b.IsObject() {
			return invalid(path, "must be a text block")
		}
		if typ := b.Get("type").String(); typ != "text" {
			return invalid(at(path, "type"), "system blocks must be of type \"text\", not %q", typ)
		}
		text, err := str(b.Get("text"), at(path, "text"), true)
		if text != "" {
			r.System = append(r.System, llm.Part{Kind: llm.PartText, Text: text})
		}
		return err
	})
}

func parseMessages(root gjson.Result, r *llm.Request) *llm.Error {
	msgs := root.Get("messages")
	if absent(msgs) {
		return invalid("messages", "field required")
	}
	if !msgs.IsArray() {
		return invalid("messages", "must be an array")
	}
	p := contentParser{names: map[string]string{}}
	err := each(msgs, "messages", func(m gjson.Result, path string) *llm.Error {
		msg, err := p.message(m, path)
		r.Messages = append(r.Messages, msg)
		return err
	})
	if err == nil && len(r.Messages) == 0 {
		err = invalid("messages", "at least one message is required")
	}
	return err
}

// parseTools reads custom tools. Server tools (web search, code execution,
// bash, ...) run inside Anthropic's API; no other upstream can run them.
func parseTools(root gjson.Result, r *llm.Request) *llm.Error {
	tools := root.Get("tools")
	if err := array(tools, "tools"); err != nil {
		return err
	}
	return each(tools, "tools", func(t gjson.Result, path string) *llm.Error {
		if !t.IsObject() {
			return invalid(path, "must be an object")
		}
		typ, err := str(t.Get("type"), at(path, "type"), false)
		if err != nil {
			return err
		}
		if typ != "" && typ != "custom" {
			return invalid(at(path, "type"), "the tool type %s is only available on Anthropic models", typ)
		}
		tool, err := parseTool(t, path)
		r.Tools = append(r.Tools, tool)
		return err
	})
}

func parseTool(t gjson.Result, path string) (llm.Tool, *llm.Error) {
	var tool llm.Tool
	var err *llm.Error
	if tool.Name, err = nonEmpty(t.Get("name"), at(path, "name")); err != nil {
		return tool, err
	}
	if tool.Description, err = str(t.Get("description"), at(path, "description"), false); err != nil {
		return tool, err
	}
	if tool.Strict, err = boolean(t.Get("strict"), at(path, "strict")); err != nil {
		return tool, err
	}
	schema := t.Get("input_schema")
	if absent(schema) {
		return tool, nil
	}
	if !schema.IsObject() {
		return tool, invalid(at(path, "input_schema"), "must be a JSON Schema object")
	}
	tool.Parameters = json.RawMessage(compact(schema))
	return tool, nil
}

func parseToolChoice(root gjson.Result, r *llm.Request) *llm.Error {
	tc := root.Get("tool_choice")
	if absent(tc) {
		return nil
	}
	if !tc.IsObject() {
		return invalid("tool_choice", "must be an object")
	}
	typ, err := str(tc.Get("type"), "tool_choice.type", true)
	if err != nil {
		return err
	}
	switch typ {
	case "auto":
		r.ToolChoice.Mode = llm.ToolAuto
	case "any":
		r.ToolChoice.Mode = llm.ToolRequired
	case "none":
		r.ToolChoice.Mode = llm.ToolNone
	case "tool":
		r.ToolChoice.Mode = llm.ToolNamed
		if r.ToolChoice.Name, err = nonEmpty(tc.Get("name"), "tool_choice.name"); err != nil {
			return err
		}
	default:
		return invalid("tool_choice.type", "must be one of auto, any, tool or none, not %q", typ)
	}
	noParallel, err := boolean(tc.Get("disable_parallel_tool_use"), "tool_choice.disable_parallel_tool_use")
	if noParallel && typ != "none" {
		r.ParallelToolCalls = new(false)
	}
	return err
}
