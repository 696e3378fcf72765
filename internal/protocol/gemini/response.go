package gemini

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// ParseResponse decodes a non-streamed generateContent answer. Only the
// first candidate is read (the gateway never asks for more).
func ParseResponse(body []byte) (*llm.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, badResponse("the upstream answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, badResponse("the upstream answer is not a JSON object")
	}
	c, err := readChunk(root)
	if err != nil {
		return nil, err
	}
	if present(c.err) {
		return nil, upstreamError(c.err)
	}
	r := &llm.Response{ID: c.id, Model: c.model}
	sawCall := false
	c.parts.ForEach(func(_, v gjson.Result) bool {
		var p llm.Part
		var ok bool
		if p, ok, err = responsePart(v); ok {
			r.Parts = append(r.Parts, p)
			sawCall = sawCall || p.Kind == llm.PartToolCall
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	r.Stop = stopReason(c.finish, sawCall)
	if c.blocked {
		r.Stop = llm.StopFilter
	}
	if present(c.usage) {
		r.Usage, r.HasUsage = usageFrom(c.usage), true
	}
	return r, nil
}

// chunk is what the gateway reads of one GenerateContentResponse.
type chunk struct {
	parts     gjson.Result // of the first candidate
	finish    string
	usage     gjson.Result
	blocked   bool // promptFeedback.blockReason and no candidate: the prompt was refused
	id, model string
	err       gjson.Result // an error object instead of an answer
}

// readChunk reads a GenerateContentResponse's members in one pass (a
// lookup of a missing key would scan the whole chunk).
func readChunk(root gjson.Result) (chunk, *llm.Error) {
	var c chunk
	var candidates, feedback gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "candidates":
			candidates = v
		case "usageMetadata":
			c.usage = v
		case "promptFeedback":
			feedback = v
		case "responseId":
			c.id = v.Str
		case "modelVersion":
			c.model = v.Str
		case "error":
			c.err = v
		}
		return true
	})
	if present(c.err) {
		return c, nil
	}
	if present(c.usage) && !c.usage.IsObject() {
		return c, badResponse("usageMetadata is not an object")
	}
	if present(candidates) && !candidates.IsArray() {
		return c, badResponse("candidates is not an array")
	}
	first := candidates.Get("0")
	if !first.Exists() {
		c.blocked = feedback.Get("blockReason").String() != ""
		return c, nil
	}
	if !first.IsObject() {
		return c, badResponse("a candidate is not an object")
	}
	var err *llm.Error
	first.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			c.parts, err = contentParts(v)
		case "finishReason":
			c.finish = v.Str
		}
		return err == nil
	})
	return c, err
}

func contentParts(content gjson.Result) (gjson.Result, *llm.Error) {
	if !present(content) {
		return gjson.Result{}, nil // a candidate cut off by MAX_TOKENS or safety may have none
	}
	if !content.IsObject() {
		return gjson.Result{}, badResponse("a candidate's content is not an object")
	}
	parts := content.Get("parts")
	if present(parts) && !parts.IsArray() {
		return gjson.Result{}, badResponse("a candidate's parts is not an array")
	}
	return parts, nil
}

// responsePart reads one part of Gemini's output. ok is false for parts
// with nothing to pass on: empty text (Gemini ends some turns with one that
// only carries a signature), and server-side tool output the gateway never
// asks for.
func responsePart(v gjson.Result) (p llm.Part, ok bool, err *llm.Error) {
	if !v.IsObject() {
		return p, false, badResponse("a part is not an object")
	}
	var text, call, inline gjson.Result
	var thought bool
	var sig string
	v.ForEach(func(k, m gjson.Result) bool {
		switch k.Str {
		case "text":
			text = m
		case "thought":
			thought = m.Type == gjson.True
		case "thoughtSignature":
			sig = m.Str
		case "functionCall":
			call = m
		case "inlineData":
			inline = m
		}
		return true
	})
	switch {
	case present(call):
		return responseCall(call, sig)
	case present(inline):
		mime := inline.Get("mimeType").Str
		return llm.Part{Kind: mediaKind(mime), MIME: mime, Data: inline.Get("data").Str}, true, nil
	case thought && (text.Str != "" || sig != ""):
		return llm.Part{Kind: llm.PartThinking, Text: text.Str, Signature: sig}, true, nil
	case !thought && text.Str != "":
		return llm.Part{Kind: llm.PartText, Text: text.Str}, true, nil
	}
	return p, false, nil
}

func responseCall(call gjson.Result, sig string) (llm.Part, bool, *llm.Error) {
	if !call.IsObject() {
		return llm.Part{}, false, badResponse("a functionCall is not an object")
	}
	p := llm.Part{Kind: llm.PartToolCall, ID: call.Get("id").Str, Name: call.Get("name").Str,
		Arguments: "{}", Signature: sig}
	switch args := call.Get("args"); {
	case args.IsObject():
		p.Arguments = compact(args.Raw)
	case present(args):
		return p, false, badResponse("the arguments of a functionCall are not an object")
	}
	if p.Name == "" {
		return p, false, badResponse("a functionCall has no name")
	}
	if p.ID == "" {
		p.ID = newCallID()
	}
	return p, true, nil
}

// BuildResponse encodes a complete answer as a GenerateContentResponse,
// with the gateway's id and the model name the client asked for.
func BuildResponse(r *llm.Response, meta llm.Meta) []byte {
	size := 256 + len(meta.ID) + len(meta.Model)
	for _, p := range r.Parts {
		size += 64 + len(p.Text) + len(p.Arguments) + len(p.Signature) + len(p.Data)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"candidates":[{"content":{"parts":[`...)
	n := 0
	for _, p := range r.Parts {
		mark := len(b)
		if n > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendResponsePart(b, p); ok {
			n++
		} else {
			b = b[:mark]
		}
	}
	b = append(b, `],"role":"model"},"finishReason":`...)
	b = sse.AppendString(b, finishReason(r.Stop))
	b = append(b, `,"index":0}],"usageMetadata":`...)
	b = appendUsage(b, r.Usage)
	b = appendIdentity(b, meta)
	return append(b, '}')
}

// appendIdentity writes the members that name the answer on every
// response and chunk.
func appendIdentity(b []byte, meta llm.Meta) []byte {
	b = append(b, `,"modelVersion":`...)
	b = sse.AppendString(b, meta.Model)
	b = append(b, `,"responseId":`...)
	return sse.AppendString(b, meta.ID)
}

// CountResponse is the answer to countTokens.
func CountResponse(total int64) []byte {
	b := append([]byte(`{"totalTokens":`), strconv.FormatInt(total, 10)...)
	return append(b, '}')
}
