package gemini

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// tools reads tools[].functionDeclarations. Every other tool (googleSearch,
// codeExecution, urlContext, ...) runs inside Google's servers and has no
// counterpart on another provider.
func (p *requestParser) tools(v gjson.Result) *llm.Error {
	if err := array(v, "tools"); err != nil {
		return err
	}
	var err *llm.Error
	i := 0
	v.ForEach(func(_, tool gjson.Result) bool {
		path := at("tools", i)
		i++
		if !tool.IsObject() {
			err = invalid(path, "%s must be an object", path)
			return false
		}
		err = members(tool, func(k string, m gjson.Result) *llm.Error {
			if k == "functionDeclarations" {
				return p.declarations(m, path+"."+k)
			}
			if present(m) && p.generate {
				return invalid(path+"."+k, "the tool %s is only available on Gemini models", k)
			}
			return nil
		})
		return err == nil
	})
	return err
}

func (p *requestParser) declarations(v gjson.Result, path string) *llm.Error {
	if err := array(v, path); err != nil {
		return err
	}
	var err *llm.Error
	i := 0
	v.ForEach(func(_, d gjson.Result) bool {
		var t llm.Tool
		t, err = declaration(d, at(path, i))
		p.req.Tools = append(p.req.Tools, t)
		i++
		return err == nil
	})
	return err
}

func declaration(d gjson.Result, path string) (llm.Tool, *llm.Error) {
	var t llm.Tool
	if !d.IsObject() {
		return t, invalid(path, "%s must be an object", path)
	}
	var params, jsonSchema gjson.Result
	err := members(d, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "name":
			t.Name, err = str(m, path+".name")
		case "description":
			t.Description, err = str(m, path+".description")
		case "parameters":
			params = m
		case "parametersJsonSchema":
			jsonSchema = m
		}
		return err
	})
	if err != nil {
		return t, err
	}
	if t.Name == "" {
		return t, invalid(path+".name", "%s.name is required", path)
	}
	switch {
	case present(params) && present(jsonSchema):
		return t, invalid(path, "%s: parameters and parametersJsonSchema are mutually exclusive", path)
	case present(jsonSchema):
		t.Parameters, err = verbatimSchema(jsonSchema, path+".parametersJsonSchema")
	case present(params):
		t.Parameters, err = openAPISchema(params, path+".parameters")
	}
	return t, err
}

// verbatimSchema keeps a JSON Schema as the client wrote it, compacted.
func verbatimSchema(v gjson.Result, path string) (json.RawMessage, *llm.Error) {
	if !v.IsObject() {
		return nil, invalid(path, "%s must be an object", path)
	}
	return json.RawMessage(compact(v.Raw)), nil
}

// toolConfig reads functionCallingConfig. VALIDATED (constrained decoding
// of calls) has no counterpart and behaves like AUTO.
func (p *requestParser) toolConfig(v gjson.Result) *llm.Error {
	const path = "toolConfig"
	if err := object(v, path); err != nil || !present(v) {
		return err
	}
	fc := v.Get("functionCallingConfig")
	if !present(fc) {
		fc = v.Get("function_calling_config")
	}
	fpath := path + ".functionCallingConfig"
	if err := object(fc, fpath); err != nil || !present(fc) {
		return err
	}
	var mode string
	var allowed []string
	err := members(fc, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "mode":
			mode, err = str(m, fpath+".mode")
		case "allowedFunctionNames":
			allowed, err = stringList(m, fpath+".allowedFunctionNames")
		}
		return err
	})
	if err != nil {
		return err
	}
	tc := &p.req.ToolChoice
	switch strings.ToUpper(mode) {
	case "", "MODE_UNSPECIFIED", "AUTO", "VALIDATED":
		tc.Mode = llm.ToolAuto
	case "NONE":
		tc.Mode = llm.ToolNone
	case "ANY":
		tc.Mode = llm.ToolRequired
		if len(allowed) == 1 {
			tc.Mode, tc.Name = llm.ToolNamed, allowed[0]
		}
	default:
		return invalid(fpath+".mode", "%s.mode must be AUTO, ANY or NONE, not %q", fpath, mode)
	}
	return nil
}

// generationConfig reads the sampling, length, format and thinking
// settings.
func (p *requestParser) generationConfig(v gjson.Result) *llm.Error {
	const base = "generationConfig"
	if err := object(v, base); err != nil || !present(v) {
		return err
	}
	r := p.req
	var mime string
	var jsonSchema, openSchema gjson.Result
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		path := base + "." + k
		var err *llm.Error
		switch k {
		case "temperature":
			r.Temperature, err = number(m, path)
		case "topP":
			r.TopP, err = number(m, path)
		case "topK":
			r.TopK, err = integer(m, path)
		case "maxOutputTokens":
			err = p.maxTokens(m, path)
		case "stopSequences":
			r.Stop, err = stringList(m, path)
		case "seed":
			r.Seed, err = integer(m, path)
		case "presencePenalty":
			r.PresencePenalty, err = number(m, path)
		case "frequencyPenalty":
			r.FrequencyPenalty, err = number(m, path)
		case "candidateCount":
			err = candidateCount(m, path)
		case "responseModalities":
			err = modalities(m, path)
		case "responseMimeType":
			mime, err = str(m, path)
		case "responseJsonSchema":
			jsonSchema = m
		case "responseSchema":
			openSchema = m
		case "thinkingConfig":
			err = p.thinking(m, path)
		}
		return err
	})
	if err != nil {
		return err
	}
	r.Format, err = responseFormat(mime, jsonSchema, openSchema)
	return err
}

func (p *requestParser) maxTokens(v gjson.Result, path string) *llm.Error {
	n, err := integer(v, path)
	if err != nil || n == nil {
		return err
	}
	if *n < 0 {
		return invalid(path, "%s must not be negative", path)
	}
	p.req.MaxTokens = *n
	return nil
}

func candidateCount(v gjson.Result, path string) *llm.Error {
	n, err := integer(v, path)
	if err == nil && n != nil && *n > 1 {
		err = invalid(path, "candidateCount > 1 is not supported when the model is served through protocol translation")
	}
	return err
}

// modalities accepts text output only: other providers' chat APIs return
// neither images nor audio.
func modalities(v gjson.Result, path string) *llm.Error {
	list, err := stringList(v, path)
	for _, m := range list {
		if !strings.EqualFold(m, "TEXT") {
			return invalid(path, "the response modality %s is only available on Gemini models", m)
		}
	}
	return err
}

// responseFormat maps the MIME type and schema to a Format. The schema
// decides: Gemini itself requires application/json with one. The Format
// is named "response" because OpenAI requires a name and Gemini has none.
func responseFormat(mime string, jsonSchema, openSchema gjson.Result) (*llm.Format, *llm.Error) {
	const base = "generationConfig."
	var schema json.RawMessage
	var err *llm.Error
	switch {
	case present(jsonSchema) && present(openSchema):
		return nil, invalid(base+"responseSchema", "responseSchema and responseJsonSchema are mutually exclusive")
	case present(jsonSchema):
		schema, err = verbatimSchema(jsonSchema, base+"responseJsonSchema")
	case present(openSchema):
		schema, err = openAPISchema(openSchema, base+"responseSchema")
	}
	if err != nil {
		return nil, err
	}
	if schema != nil {
		return &llm.Format{Type: llm.FormatJSONSchema, Name: "response", Schema: schema}, nil
	}
	switch mime {
	case "", "text/plain":
		return nil, nil
	case "application/json":
		return &llm.Format{Type: llm.FormatJSONObject}, nil
	case "text/x.enum":
		return nil, invalid(base+"responseMimeType", "responseMimeType %q is only available on Gemini models", mime)
	}
	return nil, invalid(base+"responseMimeType", "responseMimeType must be text/plain or application/json, not %q", mime)
}

// thinking reads thinkingConfig: a budget (0 turns thinking off, -1 lets
// the model decide), a level (Gemini 3) and whether to return thoughts.
func (p *requestParser) thinking(v gjson.Result, path string) *llm.Error {
	if err := object(v, path); err != nil || !present(v) {
		return err
	}
	rs := &llm.Reasoning{}
	set := false
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		switch k {
		case "thinkingBudget":
			n, err := integer(m, path+"."+k)
			if err != nil || n == nil {
				return err
			}
			if *n < -1 {
				return invalid(path+"."+k, "%s.%s must be -1 (dynamic), 0 (off) or a positive budget", path, k)
			}
			rs.Budget, rs.Disabled, set = *n, *n == 0, true
		case "thinkingLevel":
			level, err := str(m, path+"."+k)
			if err != nil {
				return err
			}
			switch level = strings.ToLower(level); level {
			case "", "thinking_level_unspecified":
			case "minimal", "low", "medium", "high":
				rs.Effort, set = level, true
			default:
				return invalid(path+"."+k, "%s.%s must be MINIMAL, LOW, MEDIUM or HIGH", path, k)
			}
		case "includeThoughts":
			on, err := boolean(m, path+"."+k)
			rs.Summary, set = on, set || on
			return err
		}
		return nil
	})
	if err == nil && set {
		p.req.Reasoning = rs
	}
	return err
}
