package chat

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// parseTools reads tools and the deprecated functions list (the same
// definitions without the {type, function} wrapper).
func parseTools(r *llm.Request, root gjson.Result) error {
	tools, err := optArray(root.Get("tools"), "tools")
	if err != nil {
		return err
	}
	for i, t := range tools {
		p := index("tools", i)
		if !t.IsObject() {
			return invalid(p, "'"+p+"' must be an object")
		}
		typ, err := optString(t.Get("type"), p+".type")
		if err != nil {
			return err
		}
		if typ != "function" {
			return invalid(p+".type", fmt.Sprintf("tool type %q is not supported; only function tools can be translated", typ))
		}
		tool, err := parseFunction(t.Get("function"), p+".function")
		if err != nil {
			return err
		}
		r.Tools = append(r.Tools, tool)
	}
	funcs, err := optArray(root.Get("functions"), "functions")
	if err != nil {
		return err
	}
	for i, f := range funcs {
		tool, err := parseFunction(f, index("functions", i))
		if err != nil {
			return err
		}
		r.Tools = append(r.Tools, tool)
	}
	r.ParallelToolCalls, err = optBool(root.Get("parallel_tool_calls"), "parallel_tool_calls")
	return err
}

func parseFunction(f gjson.Result, p string) (llm.Tool, error) {
	var t llm.Tool
	if !f.IsObject() {
		return t, invalid(p, "'"+p+"' must be an object")
	}
	var err error
	if t.Name, err = reqString(f.Get("name"), p+".name"); err != nil {
		return t, err
	}
	if t.Description, err = optString(f.Get("description"), p+".description"); err != nil {
		return t, err
	}
	if t.Parameters, err = optObject(f.Get("parameters"), p+".parameters"); err != nil {
		return t, err
	}
	strict, err := optBool(f.Get("strict"), p+".strict")
	t.Strict = strict != nil && *strict
	return t, err
}

// parseToolChoice reads tool_choice, else the deprecated function_call
// (which has the same values, a named choice being {"name": ...}).
func parseToolChoice(r *llm.Request, root gjson.Result) error {
	if v := root.Get("tool_choice"); !isNull(v) {
		return toolChoice(r, v, "tool_choice", v.Get("function.name"))
	}
	if v := root.Get("function_call"); !isNull(v) {
		return toolChoice(r, v, "function_call", v.Get("name"))
	}
	return nil
}

func toolChoice(r *llm.Request, v gjson.Result, p string, name gjson.Result) error {
	if v.Type == gjson.String {
		switch v.Str {
		case "auto":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolAuto}
		case "none":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNone}
		case "required":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired}
		default:
			return invalid(p, fmt.Sprintf("%s %q is not one of none, auto, required", p, v.Str))
		}
		return nil
	}
	if !v.IsObject() {
		return invalid(p, "'"+p+"' must be a string or an object")
	}
	if p == "tool_choice" {
		if typ := v.Get("type").String(); typ != "function" {
			return invalid(p+".type", fmt.Sprintf("tool_choice type %q is not supported when the model is served through protocol translation; use function", typ))
		}
		p += ".function"
	}
	n, err := reqString(name, p+".name")
	if err != nil {
		return err
	}
	r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: n}
	return nil
}
