package gemini

import (
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// ParseRequest decodes a client's generateContent body. The model and
// whether to stream come from the URL (see ParsePath), so Model and Stream
// are left for the relay to set.
func ParseRequest(body []byte) (*llm.Request, error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, err
	}
	r, err := parseRequest(root, true)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ParseCountRequest decodes a countTokens body: either {contents} (what
// go-genai sends) or {generateContentRequest:{...}} (the REST form that also
// carries the system instruction, tools and configuration).
func ParseCountRequest(body []byte) (*llm.Request, error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, err
	}
	if inner := root.Get("generateContentRequest"); present(inner) {
		if err := object(inner, "generateContentRequest"); err != nil {
			return nil, err
		}
		root = inner
	} else if inner := root.Get("generate_content_request"); present(inner) {
		if err := object(inner, "generateContentRequest"); err != nil {
			return nil, err
		}
		root = inner
	}
	r, err := parseRequest(root, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func parseRoot(body []byte) (gjson.Result, *llm.Error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, invalid("", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return gjson.Result{}, invalid("", "the request body must be a JSON object")
	}
	return root, nil
}

// requestParser holds what one request's parse needs across contents: the
// function calls seen so far, to give ids to responses that carry none.
type requestParser struct {
	req      *llm.Request
	calls    []callRef
	generate bool // false for countTokens, which refuses less
}

type callRef struct {
	id, name string
	answered bool
}

// parseRequest decodes the members of a GenerateContentRequest. Counting
// tokens needs no generation settings, so generation refuses what cannot
// be translated and counting does not.
func parseRequest(root gjson.Result, generate bool) (*llm.Request, *llm.Error) {
	p := &requestParser{req: &llm.Request{}, generate: generate}
	var contents gjson.Result
	err := members(root, func(k string, v gjson.Result) *llm.Error {
		switch k {
		case "contents":
			contents = v
		case "systemInstruction":
			return p.system(v)
		case "tools":
			return p.tools(v)
		case "toolConfig":
			return p.toolConfig(v)
		case "generationConfig":
			if p.generate {
				return p.generationConfig(v)
			}
		case "cachedContent":
			if present(v) && p.generate {
				return invalid(k, "cachedContent is only available on Gemini models")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := p.contents(contents); err != nil {
		return nil, err
	}
	if len(p.req.Messages) == 0 {
		return nil, invalid("contents", "contents has no parts to send")
	}
	return p.req, nil
}

func (p *requestParser) contents(v gjson.Result) *llm.Error {
	if err := array(v, "contents"); err != nil {
		return err
	}
	if !v.Get("0").Exists() {
		return invalid("contents", "contents is not specified: it must be a non-empty array")
	}
	var err *llm.Error
	i := 0
	v.ForEach(func(_, c gjson.Result) bool {
		err = p.content(c, i)
		i++
		return err == nil
	})
	return err
}

func (p *requestParser) content(c gjson.Result, ci int) *llm.Error {
	path := at("contents", ci)
	if !c.IsObject() {
		return invalid(path, "%s must be an object", path)
	}
	var role string
	var parts gjson.Result
	err := members(c, func(k string, v gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "role":
			role, err = str(v, path+".role")
		case "parts":
			parts = v
		}
		return err
	})
	if err != nil {
		return err
	}
	r := llm.RoleUser
	switch role {
	case "", "user", "function": // "function" is the role older docs gave to function responses
	case "model":
		r = llm.RoleAssistant
	default:
		return invalid(path+".role", "%s.role must be \"user\" or \"model\", not %q", path, role)
	}
	if err := array(parts, path+".parts"); err != nil {
		return err
	}
	// A content without parts is skipped rather than refused: go-genai's
	// chat records one for an answer that had none and sends it back.
	m := p.turn(r)
	pi := 0
	parts.ForEach(func(_, part gjson.Result) bool {
		err = p.part(m, part, ci, pi)
		pi++
		return err == nil
	})
	if err != nil {
		return err
	}
	if n := len(p.req.Messages); len(m.Parts) == 0 {
		p.req.Messages = p.req.Messages[:n-1]
	}
	return nil
}

// turn returns the message the next content of role r goes into:
// consecutive contents of one role are one turn. A streaming client's
// history holds one model content per chunk received, and other protocols
// want each turn whole.
func (p *requestParser) turn(r llm.Role) *llm.Message {
	if n := len(p.req.Messages); n == 0 || p.req.Messages[n-1].Role != r {
		p.req.Messages = append(p.req.Messages, llm.Message{Role: r})
	}
	return &p.req.Messages[len(p.req.Messages)-1]
}

// appendPart adds a part to a turn. In the model's turns the deltas of a
// streamed answer are joined again: adjacent text parts become one, and
// thought parts join until a signature closes the thought (the signature
// signs all of its text, so Anthropic needs the text whole).
func appendPart(m *llm.Message, part llm.Part) {
	if n := len(m.Parts); n > 0 && m.Role == llm.RoleAssistant {
		last := &m.Parts[n-1]
		switch {
		case part.Kind == llm.PartText && last.Kind == llm.PartText,
			part.Kind == llm.PartThinking && last.Kind == llm.PartThinking && last.Signature == "":
			last.Text += part.Text
			last.Signature = part.Signature
			return
		}
	}
	m.Parts = append(m.Parts, part)
}

// partFields are the members of one Part that matter here.
type partFields struct {
	text, thought, signature             gjson.Result
	inlineData, fileData, call, response gjson.Result
	data                                 int // how many data members are set
}

// readPart collects a part's members in one pass, refusing the data kinds
// that only Gemini's server-side tools produce.
func readPart(v gjson.Result, path string) (partFields, *llm.Error) {
	var f partFields
	if !v.IsObject() {
		return f, invalid(path, "%s must be an object", path)
	}
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		switch k {
		case "text":
			f.text = m
		case "thought":
			f.thought = m
		case "thoughtSignature":
			f.signature = m
		case "inlineData":
			f.inlineData = m
		case "fileData":
			f.fileData = m
		case "functionCall":
			f.call = m
		case "functionResponse":
			f.response = m
		case "executableCode", "codeExecutionResult", "toolCall", "toolResponse":
			if present(m) {
				return invalid(path+"."+k, "%s parts are only available on Gemini models", k)
			}
		default:
			return nil
		}
		if k != "thought" && k != "thoughtSignature" && present(m) {
			f.data++
		}
		return nil
	})
	if err == nil && f.data > 1 {
		err = invalid(path, "%s must have exactly one of text, inlineData, fileData, functionCall and functionResponse", path)
	}
	return f, err
}

func (p *requestParser) part(m *llm.Message, v gjson.Result, ci, pi int) *llm.Error {
	path := at(at("contents", ci)+".parts", pi)
	f, err := readPart(v, path)
	if err != nil {
		return err
	}
	sig, err := str(f.signature, path+".thoughtSignature")
	if err != nil {
		return err
	}
	var part llm.Part
	switch {
	case present(f.text):
		part, err = textPart(f, path, sig, m.Role)
	case present(f.inlineData):
		part, err = inlinePart(f.inlineData, path+".inlineData")
	case present(f.fileData):
		part, err = filePart(f.fileData, path+".fileData")
	case present(f.call):
		if m.Role != llm.RoleAssistant {
			return invalid(path+".functionCall", "functionCall parts belong in a content with role \"model\"")
		}
		part, err = p.functionCall(f.call, path+".functionCall", sig, ci, pi)
	case present(f.response):
		if m.Role != llm.RoleUser {
			return invalid(path+".functionResponse", "functionResponse parts belong in a content with role \"user\"")
		}
		part, err = p.functionResponse(f.response, path+".functionResponse", ci, pi)
	default:
		return nil // only modifiers or unknown members: nothing to translate
	}
	if err != nil || part.Kind == 0 {
		return err
	}
	appendPart(m, part)
	return nil
}

// textPart reads a text or thought part. The signature Gemini may put on a
// plain text part is dropped: only function calls' signatures are checked
// when history is replayed, and no other protocol has a place for it.
func textPart(f partFields, path, sig string, role llm.Role) (llm.Part, *llm.Error) {
	text, err := str(f.text, path+".text")
	if err != nil {
		return llm.Part{}, err
	}
	thought, err := boolean(f.thought, path+".thought")
	if err != nil {
		return llm.Part{}, err
	}
	if thought && role == llm.RoleAssistant {
		if text == "" && sig == "" {
			return llm.Part{}, nil
		}
		return llm.Part{Kind: llm.PartThinking, Text: text, Signature: sig}, nil
	}
	if text == "" { // other protocols reject empty text blocks
		return llm.Part{}, nil
	}
	return llm.Part{Kind: llm.PartText, Text: text}, nil
}

// mediaKind is PartImage for image MIME types, else PartFile.
func mediaKind(mime string) llm.PartKind {
	if len(mime) > 6 && mime[:6] == "image/" {
		return llm.PartImage
	}
	return llm.PartFile
}

func inlinePart(v gjson.Result, path string) (llm.Part, *llm.Error) {
	if err := object(v, path); err != nil {
		return llm.Part{}, err
	}
	var mime, data string
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "mimeType":
			mime, err = str(m, path+".mimeType")
		case "data":
			data, err = str(m, path+".data")
		}
		return err
	})
	if err != nil {
		return llm.Part{}, err
	}
	if mime == "" {
		return llm.Part{}, invalid(path+".mimeType", "%s.mimeType is required", path)
	}
	if data == "" {
		return llm.Part{}, invalid(path+".data", "%s.data is required", path)
	}
	return llm.Part{Kind: mediaKind(mime), MIME: mime, Data: data}, nil
}

// filePart reads a fileData reference (a Files API URI or a YouTube URL);
// whoever serves the request must fetch it.
func filePart(v gjson.Result, path string) (llm.Part, *llm.Error) {
	if err := object(v, path); err != nil {
		return llm.Part{}, err
	}
	var mime, uri string
	err := members(v, func(k string, m gjson.Result) *llm.Error {
		var err *llm.Error
		switch k {
		case "mimeType":
			mime, err = str(m, path+".mimeType")
		case "fileUri":
			uri, err = str(m, path+".fileUri")
		}
		return err
	})
	if err != nil {
		return llm.Part{}, err
	}
	if uri == "" {
		return llm.Part{}, invalid(path+".fileUri", "%s.fileUri is required", path)
	}
	return llm.Part{Kind: mediaKind(mime), MIME: mime, URL: uri}, nil
}

// system reads systemInstruction: its text parts, in order.
func (p *requestParser) system(v gjson.Result) *llm.Error {
	const path = "systemInstruction"
	if v.Type == gjson.String { // a common client shortcut
		if v.Str != "" {
			p.req.System = append(p.req.System, llm.Part{Kind: llm.PartText, Text: v.Str})
		}
		return nil
	}
	if err := object(v, path); err != nil || !present(v) {
		return err
	}
	parts := v.Get("parts")
	if err := array(parts, path+".parts"); err != nil {
		return err
	}
	var err *llm.Error
	i := 0
	parts.ForEach(func(_, part gjson.Result) bool {
		ppath := at(path+".parts", i)
		i++
		var f partFields
		if f, err = readPart(part, ppath); err != nil {
			return false
		}
		if f.data > 0 && !present(f.text) {
			err = invalid(ppath, "systemInstruction supports only text parts")
			return false
		}
		var text string
		text, err = str(f.text, ppath+".text")
		if err == nil && text != "" {
			p.req.System = append(p.req.System, llm.Part{Kind: llm.PartText, Text: text})
		}
		return err == nil
	})
	return err
}
