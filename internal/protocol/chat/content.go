package chat

import (
	"fmt"
	"mime"
	"path"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// allow is the set of content part types a role may use.
type allow uint8

const (
	allowText allow = 1 << iota
	allowImage
	allowFile
	allowRefusal
)

// contentParts reads a content member: a string or an array of typed parts.
// It returns nil for null or a missing member (the caller knows whether
// that is allowed) and a non-nil slice otherwise.
func contentParts(v gjson.Result, p string, a allow) ([]llm.Part, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Type == gjson.String {
		return []llm.Part{{Kind: llm.PartText, Text: v.Str}}, nil
	}
	if !v.IsArray() {
		return nil, invalid(p, "'"+p+"' must be a string or an array of content parts")
	}
	parts := []llm.Part{}
	for i, item := range v.Array() {
		part, err := contentPart(item, index(p, i), a)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

func contentPart(v gjson.Result, p string, a allow) (llm.Part, error) {
	if !v.IsObject() {
		return llm.Part{}, invalid(p, "'"+p+"' must be an object")
	}
	typ, err := reqString(v.Get("type"), p+".type")
	if err != nil {
		return llm.Part{}, err
	}
	switch {
	case typ == "text" && a&allowText != 0:
		text, err := optString(v.Get("text"), p+".text")
		return llm.Part{Kind: llm.PartText, Text: text}, err
	case typ == "refusal" && a&allowRefusal != 0:
		text, err := optString(v.Get("refusal"), p+".refusal")
		return llm.Part{Kind: llm.PartText, Text: text}, err
	case typ == "image_url" && a&allowImage != 0:
		return imagePart(v.Get("image_url"), p+".image_url")
	case typ == "file" && a&allowFile != 0:
		return filePart(v.Get("file"), p+".file")
	case typ == "input_audio":
		return llm.Part{}, invalid(p, "audio input is not supported for this model")
	}
	return llm.Part{}, invalid(p+".type", fmt.Sprintf("content part type %q is not supported here", typ))
}

// imagePart accepts {url, detail} or, as some clients send, the URL alone.
// detail has no counterpart outside OpenAI and is dropped.
func imagePart(v gjson.Result, p string) (llm.Part, error) {
	if v.IsObject() {
		v, p = v.Get("url"), p+".url"
	}
	u, err := reqString(v, p)
	if err != nil {
		return llm.Part{}, err
	}
	if strings.HasPrefix(u, "data:") {
		mt, data, ok := llm.ParseDataURL(u)
		if !ok || mt == "" || data == "" {
			return llm.Part{}, invalid(p, "'"+p+"' must be a base64 data URL (data:<type>;base64,...) or an http(s) URL")
		}
		return llm.Part{Kind: llm.PartImage, MIME: mt, Data: data}, nil
	}
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return llm.Part{}, invalid(p, "'"+p+"' must be a base64 data URL or an http(s) URL")
	}
	return llm.Part{Kind: llm.PartImage, URL: u}, nil
}

// filePart reads an inline file. file_id refers to OpenAI's file store,
// which no other provider can read.
func filePart(v gjson.Result, p string) (llm.Part, error) {
	if !v.IsObject() {
		return llm.Part{}, invalid(p, "'"+p+"' must be an object")
	}
	if !isNull(v.Get("file_id")) {
		return llm.Part{}, invalid(p+".file_id", "file_id is not supported when the model is served through protocol translation; send the file inline as file_data")
	}
	name, err := optString(v.Get("filename"), p+".filename")
	if err != nil {
		return llm.Part{}, err
	}
	data, err := reqString(v.Get("file_data"), p+".file_data")
	if err != nil {
		return llm.Part{}, err
	}
	part := llm.Part{Kind: llm.PartFile, Name: name}
	if strings.HasPrefix(data, "data:") {
		mt, b64, ok := llm.ParseDataURL(data)
		if !ok || b64 == "" {
			return llm.Part{}, invalid(p+".file_data", "'"+p+".file_data' must be a base64 data URL or bare base64")
		}
		part.MIME, part.Data = mt, b64
		return part, nil
	}
	part.MIME, part.Data = mimeOfName(name), data
	return part, nil
}

// mimeOfName guesses the type of bare base64 file data from its file name;
// Chat file inputs are PDFs unless the name says otherwise.
func mimeOfName(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return "application/pdf"
}

// thinkingParts reads an assistant's reasoning: the thinking_blocks side
// field (LiteLLM's convention, which keeps signatures) when present, else
// reasoning_content (DeepSeek, Ark), which has no signature.
func thinkingParts(m gjson.Result, p string) ([]llm.Part, error) {
	text, err := optString(m.Get("reasoning_content"), p+".reasoning_content")
	if err != nil {
		return nil, err
	}
	blocks, err := optArray(m.Get("thinking_blocks"), p+".thinking_blocks")
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if text == "" {
			return nil, nil
		}
		return []llm.Part{{Kind: llm.PartThinking, Text: text}}, nil
	}
	parts, err := thinkingBlocks(blocks, p+".thinking_blocks")
	if err != nil {
		return nil, err
	}
	return fillStreamedThinking(parts, text), nil
}

func thinkingBlocks(blocks []gjson.Result, p string) ([]llm.Part, error) {
	var parts []llm.Part
	for i, b := range blocks {
		bp := index(p, i)
		if !b.IsObject() {
			return nil, invalid(bp, "'"+bp+"' must be an object")
		}
		typ, err := reqString(b.Get("type"), bp+".type")
		if err != nil {
			return nil, err
		}
		var part llm.Part
		switch typ {
		case "thinking":
			part.Kind = llm.PartThinking
			if part.Text, err = optString(b.Get("thinking"), bp+".thinking"); err == nil {
				part.Signature, err = optString(b.Get("signature"), bp+".signature")
			}
		case "redacted_thinking":
			part.Kind = llm.PartRedactedThinking
			part.Data, err = reqString(b.Get("data"), bp+".data")
		default:
			err = invalid(bp+".type", fmt.Sprintf("thinking block type %q is not one of thinking, redacted_thinking", typ))
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// fillStreamedThinking restores the text of a block that came from a
// stream: the gateway's stream carries the text in reasoning_content and
// the signature alone in thinking_blocks, so a client that kept both sends
// back one empty-text block and the text beside it. With several blocks the
// text cannot be split, and they are left as they are.
func fillStreamedThinking(parts []llm.Part, text string) []llm.Part {
	if text == "" {
		return parts
	}
	var only *llm.Part
	for i := range parts {
		if parts[i].Kind != llm.PartThinking {
			continue
		}
		if only != nil || parts[i].Text != "" {
			return parts
		}
		only = &parts[i]
	}
	if only != nil {
		only.Text = text
	}
	return parts
}
