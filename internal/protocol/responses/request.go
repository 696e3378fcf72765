package responses

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// ParseRequest decodes a client's Responses request (POST /v1/responses)
// into an llm.Request. Features that need server-side state are refused with
// a message telling the client what to send instead, because the gateway
// stores neither prompts nor outputs.
func ParseRequest(body []byte) (*llm.Request, error) {
	if !gjson.ValidBytes(body) {
		return nil, invalid("", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, invalid("", "the request body must be a JSON object")
	}
	if err := refuseState(root); err != nil {
		return nil, err
	}
	r := &llm.Request{}
	steps := []func(gjson.Result, *llm.Request) error{
		parseModel, parseInput, parseTools, parseToolChoice, parseSampling, parseText, parseReasoning,
	}
	for _, step := range steps {
		if err := step(root, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// refuseState rejects the fields that only make sense when the server keeps
// responses: silently ignoring them would answer a different question.
func refuseState(root gjson.Result) error {
	if v := root.Get("previous_response_id"); isSet(v) && v.Raw != `""` {
		return invalid("previous_response_id", "previous_response_id is not supported: this gateway does not "+
			"store responses (it keeps no prompts or outputs); send the whole conversation in input")
	}
	if v := root.Get("store"); v.Type == gjson.True {
		return invalid("store", "store: true is not supported: this gateway does not store responses; send store: false")
	} else if v.Exists() && v.Type != gjson.False && v.Type != gjson.Null {
		return invalid("store", "store must be a boolean")
	}
	if v := root.Get("background"); v.Type == gjson.True {
		return invalid("background", "background: true is not supported: this gateway does not store responses, "+
			"so a background response could never be retrieved; send background: false")
	} else if v.Exists() && v.Type != gjson.False && v.Type != gjson.Null {
		return invalid("background", "background must be a boolean")
	}
	if isSet(root.Get("conversation")) {
		return invalid("conversation", "conversation is not supported: this gateway does not store "+
			"conversations; send the whole conversation in input")
	}
	return nil
}

func parseModel(root gjson.Result, r *llm.Request) error {
	m := root.Get("model")
	if m.Type != gjson.String || m.Str == "" {
		return invalid("model", "model is required and must be a non-empty string")
	}
	r.Model = m.Str
	s, err := optBool(root.Get("stream"), "stream")
	if err != nil {
		return err
	}
	r.Stream = s != nil && *s
	return nil
}

func parseSampling(root gjson.Result, r *llm.Request) error {
	var err error
	if r.ParallelToolCalls, err = optBool(root.Get("parallel_tool_calls"), "parallel_tool_calls"); err != nil {
		return err
	}
	if r.MaxTokens, err = optPositiveInt(root.Get("max_output_tokens"), "max_output_tokens"); err != nil {
		return err
	}
	if r.Temperature, err = optFloat(root.Get("temperature"), "temperature", 0, 2); err != nil {
		return err
	}
	if r.TopP, err = optFloat(root.Get("top_p"), "top_p", 0, 1); err != nil {
		return err
	}
	user, err := optString(root.Get("user"), "user")
	if err != nil {
		return err
	}
	// safety_identifier is the successor of the deprecated user field.
	safety, err := optString(root.Get("safety_identifier"), "safety_identifier")
	if err != nil {
		return err
	}
	r.User = user
	if safety != "" {
		r.User = safety
	}
	return nil
}

func parseTools(root gjson.Result, r *llm.Request) error {
	tools := root.Get("tools")
	if !isSet(tools) {
		return nil
	}
	if !tools.IsArray() {
		return invalid("tools", "tools must be an array")
	}
	for i, t := range tools.Array() {
		p := fmt.Sprintf("tools[%d]", i)
		if !t.IsObject() {
			return invalid(p, "%s must be an object", p)
		}
		if typ := t.Get("type").String(); typ != "function" {
			return invalid("tools", "the tool type %q is not supported by this model; only function tools are", typ)
		}
		name := t.Get("name")
		if name.Type != gjson.String || name.Str == "" {
			return invalid(p+".name", "%s.name is required and must be a non-empty string", p)
		}
		desc, err := optString(t.Get("description"), p+".description")
		if err != nil {
			return err
		}
		params := t.Get("parameters")
		if isSet(params) && !params.IsObject() {
			return invalid(p+".parameters", "%s.parameters must be a JSON Schema object", p)
		}
		strict, err := optBool(t.Get("strict"), p+".strict")
		if err != nil {
			return err
		}
		tool := llm.Tool{Name: name.Str, Description: desc, Strict: strict != nil && *strict}
		if params.IsObject() {
			tool.Parameters = json.RawMessage(params.Raw)
		}
		r.Tools = append(r.Tools, tool)
	}
	return nil
}

func parseToolChoice(root gjson.Result, r *llm.Request) error {
	tc := root.Get("tool_choice")
	switch {
	case !isSet(tc):
		return nil
	case tc.Type == gjson.String:
		switch tc.Str {
		case "auto":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolAuto}
		case "none":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNone}
		case "required":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired}
		default:
			return invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or "+
				"{\"type\":\"function\",\"name\":...}; got %q", tc.Str)
		}
		return nil
	case tc.IsObject():
		if typ := tc.Get("type").String(); typ != "function" {
			return invalid("tool_choice", "the tool_choice type %q is not supported by this model; "+
				"use \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}", typ)
		}
		name := tc.Get("name")
		if name.Type != gjson.String || name.Str == "" {
			return invalid("tool_choice.name", "tool_choice.name is required and must be a non-empty string")
		}
		r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: name.Str}
		return nil
	}
	return invalid("tool_choice", "tool_choice must be a string or an object")
}

func parseText(root gjson.Result, r *llm.Request) error {
	text := root.Get("text")
	if !isSet(text) {
		return nil
	}
	if !text.IsObject() {
		return invalid("text", "text must be an object")
	}
	f := text.Get("format")
	if !isSet(f) {
		return nil
	}
	if !f.IsObject() {
		return invalid("text.format", "text.format must be an object")
	}
	switch typ := f.Get("type").String(); typ {
	case "text":
		r.Format = &llm.Format{Type: llm.FormatText}
	case "json_object":
		r.Format = &llm.Format{Type: llm.FormatJSONObject}
	case "json_schema":
		return parseSchemaFormat(f, r)
	default:
		return invalid("text.format.type", "text.format.type must be \"text\", \"json_object\" or \"json_schema\"; got %q", typ)
	}
	return nil
}

// parseSchemaFormat reads the flat json_schema format (Chat nests it under
// "json_schema"; the Responses API does not).
func parseSchemaFormat(f gjson.Result, r *llm.Request) error {
	name := f.Get("name")
	if name.Type != gjson.String || name.Str == "" {
		return invalid("text.format.name", "text.format.name is required for json_schema and must be a non-empty string")
	}
	schema := f.Get("schema")
	if !schema.IsObject() {
		return invalid("text.format.schema", "text.format.schema is required for json_schema and must be an object")
	}
	desc, err := optString(f.Get("description"), "text.format.description")
	if err != nil {
		return err
	}
	strict, err := optBool(f.Get("strict"), "text.format.strict")
	if err != nil {
		return err
	}
	r.Format = &llm.Format{Type: llm.FormatJSONSchema, Name: name.Str, Description: desc,
		Schema: json.RawMessage(schema.Raw), Strict: strict != nil && *strict}
	return nil
}

var efforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true, "max": true}

func parseReasoning(root gjson.Result, r *llm.Request) error {
	re := root.Get("reasoning")
	if !isSet(re) {
		return nil
	}
	if !re.IsObject() {
		return invalid("reasoning", "reasoning must be an object")
	}
	effort, err := optString(re.Get("effort"), "reasoning.effort")
	if err != nil {
		return err
	}
	if effort != "" && !efforts[effort] {
		return invalid("reasoning.effort", "reasoning.effort must be one of none, minimal, low, medium, high, xhigh, max; got %q", effort)
	}
	summary, err := optString(re.Get("summary"), "reasoning.summary")
	if err != nil {
		return err
	}
	// generate_summary is the deprecated name of summary.
	if summary == "" {
		if summary, err = optString(re.Get("generate_summary"), "reasoning.generate_summary"); err != nil {
			return err
		}
	}
	if effort == "" && summary == "" {
		return nil
	}
	r.Reasoning = &llm.Reasoning{Effort: effort, Disabled: effort == "none", Summary: summary != "" && summary != "none"}
	return nil
}

// invalid is the error for a malformed client request.
func invalid(param, format string, args ...any) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Param: param, Message: fmt.Sprintf(format, args...)}
}

// isSet reports whether a field is present and not null.
func isSet(v gjson.Result) bool { return v.Exists() && v.Type != gjson.Null }

func optString(v gjson.Result, param string) (string, error) {
	if !isSet(v) {
		return "", nil
	}
	if v.Type != gjson.String {
		return "", invalid(param, "%s must be a string", param)
	}
	return v.Str, nil
}

func optBool(v gjson.Result, param string) (*bool, error) {
	if !isSet(v) {
		return nil, nil
	}
	if v.Type != gjson.True && v.Type != gjson.False {
		return nil, invalid(param, "%s must be a boolean", param)
	}
	b := v.Type == gjson.True
	return &b, nil
}

func optFloat(v gjson.Result, param string, lo, hi float64) (*float64, error) {
	if !isSet(v) {
		return nil, nil
	}
	if v.Type != gjson.Number || math.IsNaN(v.Num) || v.Num < lo || v.Num > hi {
		return nil, invalid(param, "%s must be a number between %g and %g", param, lo, hi)
	}
	f := v.Num
	return &f, nil
}

// maxTokensLimit keeps token counts exact in a float64 and far from any
// real model's limit.
const maxTokensLimit = 1 << 40

func optPositiveInt(v gjson.Result, param string) (int64, error) {
	if !isSet(v) {
		return 0, nil
	}
	if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) || v.Num < 1 || v.Num > maxTokensLimit {
		return 0, invalid(param, "%s must be a positive integer", param)
	}
	return int64(v.Num), nil
}
