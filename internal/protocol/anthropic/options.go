package anthropic

import (
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// efforts are the output_config.effort levels of the Messages API.
var efforts = map[string]bool{"low": true, "medium": true, "high": true, "xhigh": true, "max": true}

// parseReasoning reads thinking and output_config.effort:
//   - enabled{budget_tokens} → Budget (the effort, if any, is left to the
//     budget, which is the more precise of the two);
//   - adaptive → Effort (output_config.effort, else "medium");
//   - disabled → Disabled;
//   - output_config.effort alone → Effort.
//
// Summary follows thinking.display: "omitted" asks for signatures only.
func parseReasoning(root gjson.Result, r *llm.Request) *llm.Error {
	th, oc := root.Get("thinking"), root.Get("output_config")
	if err := object(oc, "output_config"); err != nil {
		return err
	}
	effort, err := str(oc.Get("effort"), "output_config.effort", false)
	if err != nil {
		return err
	}
	if effort != "" && !efforts[effort] {
		return invalid("output_config.effort", "must be one of low, medium, high, xhigh or max, not %q", effort)
	}
	if absent(th) {
		if effort != "" {
			r.Reasoning = &llm.Reasoning{Effort: effort}
		}
		return nil
	}
	if !th.IsObject() {
		return invalid("thinking", "must be an object")
	}
	typ, err := str(th.Get("type"), "thinking.type", true)
	if err != nil {
		return err
	}
	display, err := str(th.Get("display"), "thinking.display", false)
	if err != nil {
		return err
	}
	summary := display != "omitted"
	switch typ {
	case "enabled":
		budget, ok, err := integer(th.Get("budget_tokens"), "thinking.budget_tokens")
		if err != nil {
			return err
		}
		if !ok || budget < 1 {
			return invalid("thinking.budget_tokens", "a positive budget is required when thinking is enabled")
		}
		r.Reasoning = &llm.Reasoning{Budget: budget, Summary: summary}
	case "adaptive":
		if effort == "" {
			effort = "medium"
		}
		r.Reasoning = &llm.Reasoning{Effort: effort, Summary: summary}
	case "disabled":
		r.Reasoning = &llm.Reasoning{Disabled: true}
	default:
		return invalid("thinking.type", "must be one of enabled, adaptive or disabled, not %q", typ)
	}
	return nil
}

// formatName names a structured output for upstreams that require a name
// (OpenAI's json_schema.name); the Messages API has none.
const formatName = "response"

// parseFormat reads output_config.format, and the beta's top-level
// output_format that preceded it.
func parseFormat(root gjson.Result, r *llm.Request) *llm.Error {
	path := "output_config.format"
	f := root.Get(path)
	if absent(f) {
		path = "output_format"
		f = root.Get(path)
	}
	if absent(f) {
		return nil
	}
	if !f.IsObject() {
		return invalid(path, "must be an object")
	}
	typ, err := str(f.Get("type"), at(path, "type"), true)
	if err != nil {
		return err
	}
	if typ != "json_schema" {
		return invalid(at(path, "type"), "must be \"json_schema\", not %q", typ)
	}
	schema := f.Get("schema")
	if !schema.IsObject() {
		return invalid(at(path, "schema"), "a JSON Schema object is required")
	}
	r.Format = &llm.Format{Type: llm.FormatJSONSchema, Name: formatName, Schema: json.RawMessage(compact(schema))}
	return nil
}
