package gemini

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Function calls and responses in a client's history. Gemini 2.x sends
// calls without ids, so responses are paired with calls by name.

func (p *requestParser) functionCall(v gjson.Result, path, sig string, ci, pi int) (llm.Part, *llm.Error) {
	if err := object(v, path); err != nil {
		return llm.Part{}, err
	}
	var id, name string
	args := "{}"
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "id":
			id, err = str(m, path+".id")
		case "name":
			name, err = str(m, path+".name")
		case "args":
			if err = object(m, path+".args"); err == nil && present(m) {
				args = compact(m.Raw)
			}
		}
		return err
	})
	if err != nil {
		return llm.Part{}, err
	}
	if name == "" {
		return llm.Part{}, invalid(path+".name", "%s.name is required", path)
	}
	if id == "" {
		id = syntheticID(ci, pi)
	}
	p.calls = append(p.calls, callRef{id: id, name: name})
	return llm.Part{Kind: llm.PartToolCall, ID: id, Name: name, Arguments: args, Signature: sig}, nil
}

// syntheticID names a call that came without an id, the same way on every
// request of a conversation so that the history stays stable (prompt
// caches upstream key on it).
func syntheticID(ci, pi int) string {
	return "call_" + strconv.Itoa(ci) + "_" + strconv.Itoa(pi)
}

func (p *requestParser) functionResponse(v gjson.Result, path string, ci, pi int) (llm.Part, *llm.Error) {
	if err := object(v, path); err != nil {
		return llm.Part{}, err
	}
	var id, name string
	var response, parts gjson.Result
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "id":
			id, err = str(m, path+".id")
		case "name":
			name, err = str(m, path+".name")
		case "response":
			response, err = m, object(m, path+".response")
		case "parts":
			parts, err = m, array(m, path+".parts")
		}
		return err
	})
	if err != nil {
		return llm.Part{}, err
	}
	id, name = p.answer(id, name)
	if name == "" {
		return llm.Part{}, invalid(path+".name", "%s.name is required", path)
	}
	if id == "" {
		id = syntheticID(ci, pi)
	}
	text, isErr := resultText(response)
	part := llm.Part{Kind: llm.PartToolResult, ID: id, Name: name, IsError: isErr,
		Content: []llm.Part{{Kind: llm.PartText, Text: text}}}
	i := 0
	parts.ForEach(func(_, rp gjson.Result) bool {
		var img llm.Part
		img, err = responseImage(rp, at(path+".parts", i))
		part.Content = append(part.Content, img)
		i++
		return err == nil
	})
	return part, err
}

// answer pairs a function response with its call: by id when it has one,
// else the earliest unanswered call of that name (Gemini 2.x sends no ids).
func (p *requestParser) answer(id, name string) (string, string) {
	for i := range p.calls {
		c := &p.calls[i]
		if c.answered || (id != "" && c.id != id) || (id == "" && c.name != name) {
			continue
		}
		c.answered = true
		if name == "" {
			name = c.name
		}
		return c.id, name
	}
	return id, name
}

// resultText flattens a function response to the text other protocols
// carry: the string itself for the usual one-key wrappers, else the JSON.
// A lone "error" key is Google's documented way to report a failure.
func resultText(resp gjson.Result) (text string, isErr bool) {
	if !present(resp) {
		return "{}", false
	}
	n := 0
	var key string
	var val gjson.Result
	resp.ForEach(func(k, v gjson.Result) bool {
		n++
		key, val = k.Str, v
		return n < 2
	})
	if n == 1 {
		switch key {
		case "result", "output", "content":
			if val.Type == gjson.String {
				return val.Str, false
			}
		case "error":
			if val.Type == gjson.String {
				return val.Str, true
			}
			return compact(val.Raw), true
		}
	}
	return compact(resp.Raw), false
}

// responseImage reads one of the media parts Gemini 3 allows inside a
// function response; only images have a counterpart in tool results.
func responseImage(v gjson.Result, path string) (llm.Part, *llm.Error) {
	if !v.IsObject() {
		return llm.Part{}, invalid(path, "%s must be an object", path)
	}
	inline := v.Get("inlineData")
	if !present(inline) {
		inline = v.Get("inline_data")
	}
	if !present(inline) {
		return llm.Part{}, invalid(path, "%s: only inlineData images are supported in function responses", path)
	}
	img, err := inlinePart(inline, path+".inlineData")
	if err == nil && img.Kind != llm.PartImage {
		err = invalid(path+".inlineData.mimeType", "%s: only images are supported in function responses", path)
	}
	return img, err
}
