package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// contentParser reads the messages of a client's request. It remembers the
// function name of every tool_use so that a later tool_result can carry it
// (Gemini needs the name, the Messages API only has the id).
type contentParser struct {
	names map[string]string
}

func (p *contentParser) message(m gjson.Result, path string) (llm.Message, *llm.Error) {
	var msg llm.Message
	if !m.IsObject() {
		return msg, invalid(path, "must be an object")
	}
	role, err := str(m.Get("role"), at(path, "role"), true)
	if err != nil {
		return msg, err
	}
	switch role {
	case "user":
		msg.Role = llm.RoleUser
	case "assistant":
		msg.Role = llm.RoleAssistant
	default:
		return msg, invalid(at(path, "role"), "must be \"user\" or \"assistant\", not %q (system prompts go in the top-level system field)", role)
	}
	content, cpath := m.Get("content"), at(path, "content")
	switch {
	case absent(content):
		return msg, invalid(cpath, "field required")
	case content.Type == gjson.String:
		msg.Parts = []llm.Part{{Kind: llm.PartText, Text: content.Str}}
		return msg, nil
	case !content.IsArray():
		return msg, invalid(cpath, "must be a string or an array of content blocks")
	}
	err = each(content, cpath, func(b gjson.Result, path string) *llm.Error {
		var err *llm.Error
		msg.Parts, err = p.block(msg.Parts, b, path, msg.Role)
		return err
	})
	return msg, err
}

// roleOf names the only role whose messages may hold a block type.
var roleOf = map[string]llm.Role{
	"tool_use": llm.RoleAssistant, "thinking": llm.RoleAssistant, "redacted_thinking": llm.RoleAssistant,
	"tool_result": llm.RoleUser,
}

// block appends the parts of one content block to dst.
func (p *contentParser) block(dst []llm.Part, b gjson.Result, path string, role llm.Role) ([]llm.Part, *llm.Error) {
	if !b.IsObject() {
		return dst, invalid(path, "must be a content block object")
	}
	typ, err := str(b.Get("type"), at(path, "type"), true)
	if err != nil {
		return dst, err
	}
	if want, ok := roleOf[typ]; ok && want != role {
		return dst, invalid(at(path, "type"), "%s blocks are only allowed in %s messages", typ, want)
	}
	switch typ {
	case "text", "image", "document":
		return mediaBlock(dst, b, path, typ)
	case "tool_use":
		return p.toolUse(dst, b, path)
	case "tool_result":
		return p.toolResult(dst, b, path)
	case "thinking":
		text, err := str(b.Get("thinking"), at(path, "thinking"), false)
		if err != nil {
			return dst, err
		}
		sig, err := str(b.Get("signature"), at(path, "signature"), false)
		return append(dst, llm.Part{Kind: llm.PartThinking, Text: text, Signature: sig}), err
	case "redacted_thinking":
		data, err := str(b.Get("data"), at(path, "data"), true)
		return append(dst, llm.Part{Kind: llm.PartRedactedThinking, Data: data}), err
	}
	return dst, invalid(at(path, "type"), "the content block type %q is not supported for this model", typ)
}

// mediaBlock appends a text, image or document block: the kinds allowed
// both in messages and inside tool results.
func mediaBlock(dst []llm.Part, b gjson.Result, path, typ string) ([]llm.Part, *llm.Error) {
	switch typ {
	case "text":
		text, err := str(b.Get("text"), at(path, "text"), true)
		return append(dst, llm.Part{Kind: llm.PartText, Text: text}), err
	case "image":
		return imageSource(dst, b.Get("source"), at(path, "source"))
	case "document":
		title, err := str(b.Get("title"), at(path, "title"), false)
		if err != nil {
			return dst, err
		}
		return documentSource(dst, b.Get("source"), at(path, "source"), title)
	}
	return dst, invalid(at(path, "type"), "the content block type %q is not supported here", typ)
}

// sourceType reads source.type, the union tag of image and document sources.
func sourceType(src gjson.Result, path string) (string, *llm.Error) {
	if absent(src) {
		return "", invalid(path, "field required")
	}
	if !src.IsObject() {
		return "", invalid(path, "must be an object")
	}
	return str(src.Get("type"), at(path, "type"), true)
}

func imageSource(dst []llm.Part, src gjson.Result, path string) ([]llm.Part, *llm.Error) {
	typ, err := sourceType(src, path)
	if err != nil {
		return dst, err
	}
	part := llm.Part{Kind: llm.PartImage}
	switch typ {
	case "base64":
		part.MIME, part.Data, err = base64Source(src, path)
	case "url":
		part.URL, err = nonEmpty(src.Get("url"), at(path, "url"))
	case "file":
		err = invalid(at(path, "type"), "file sources (the Files API) are not supported for this model")
	default:
		err = invalid(at(path, "type"), "must be \"base64\" or \"url\", not %q", typ)
	}
	return append(dst, part), err
}

// documentSource appends a document: PDFs (and any other base64 file) as a
// file part, plain text as text, custom content as its text and images.
func documentSource(dst []llm.Part, src gjson.Result, path, title string) ([]llm.Part, *llm.Error) {
	typ, err := sourceType(src, path)
	if err != nil {
		return dst, err
	}
	part := llm.Part{Kind: llm.PartFile, Name: title}
	switch typ {
	case "base64":
		part.MIME, part.Data, err = base64Source(src, path)
	case "url":
		// URL documents are PDFs in the Messages API.
		part.MIME = "application/pdf"
		part.URL, err = nonEmpty(src.Get("url"), at(path, "url"))
	case "text":
		part = llm.Part{Kind: llm.PartText}
		part.Text, err = str(src.Get("data"), at(path, "data"), true)
	case "content":
		return contentSource(dst, src.Get("content"), at(path, "content"))
	case "file":
		err = invalid(at(path, "type"), "file sources (the Files API) are not supported for this model")
	default:
		err = invalid(at(path, "type"), "must be \"base64\", \"url\", \"text\" or \"content\", not %q", typ)
	}
	return append(dst, part), err
}

func base64Source(src gjson.Result, path string) (mime, data string, err *llm.Error) {
	if mime, err = nonEmpty(src.Get("media_type"), at(path, "media_type")); err != nil {
		return "", "", err
	}
	data, err = nonEmpty(src.Get("data"), at(path, "data"))
	return mime, data, err
}

// contentSource reads a document's custom content: a string, or text and
// image blocks.
func contentSource(dst []llm.Part, c gjson.Result, path string) ([]llm.Part, *llm.Error) {
	switch {
	case absent(c):
		return dst, invalid(path, "field required")
	case c.Type == gjson.String:
		return append(dst, llm.Part{Kind: llm.PartText, Text: c.Str}), nil
	case !c.IsArray():
		return dst, invalid(path, "must be a string or an array of text and image blocks")
	}
	err := each(c, path, func(b gjson.Result, path string) *llm.Error {
		typ := b.Get("type").String()
		if typ != "text" && typ != "image" {
			return invalid(at(path, "type"), "must be \"text\" or \"image\", not %q", typ)
		}
		var err *llm.Error
		dst, err = mediaBlock(dst, b, path, typ)
		return err
	})
	return dst, err
}

// toolUse reads a call. Its id may carry a Gemini thought signature that an
// earlier answer packed into it (llm.PackCallID).
func (p *contentParser) toolUse(dst []llm.Part, b gjson.Result, path string) ([]llm.Part, *llm.Error) {
	packed, err := nonEmpty(b.Get("id"), at(path, "id"))
	if err != nil {
		return dst, err
	}
	name, err := nonEmpty(b.Get("name"), at(path, "name"))
	if err != nil {
		return dst, err
	}
	args := "{}"
	if input := b.Get("input"); !absent(input) {
		if !input.IsObject() {
			return dst, invalid(at(path, "input"), "must be an object")
		}
		args = compact(input)
	}
	id, sig := llm.UnpackCallID(packed)
	p.names[id] = name
	return append(dst, llm.Part{Kind: llm.PartToolCall, ID: id, Name: name, Arguments: args, Signature: sig}), nil
}

// toolResult reads a result; its content is a string (one text part) or
// text, image and document blocks.
func (p *contentParser) toolResult(dst []llm.Part, b gjson.Result, path string) ([]llm.Part, *llm.Error) {
	packed, err := nonEmpty(b.Get("tool_use_id"), at(path, "tool_use_id"))
	if err != nil {
		return dst, err
	}
	id, _ := llm.UnpackCallID(packed)
	part := llm.Part{Kind: llm.PartToolResult, ID: id, Name: p.names[id]}
	if part.IsError, err = boolean(b.Get("is_error"), at(path, "is_error")); err != nil {
		return dst, err
	}
	c, cpath := b.Get("content"), at(path, "content")
	switch {
	case absent(c):
	case c.Type == gjson.String:
		part.Content = []llm.Part{{Kind: llm.PartText, Text: c.Str}}
	case c.IsArray():
		err = each(c, cpath, func(b gjson.Result, path string) *llm.Error {
			if !b.IsObject() {
				return invalid(path, "must be a content block object")
			}
			var err *llm.Error
			part.Content, err = mediaBlock(part.Content, b, path, b.Get("type").String())
			return err
		})
	default:
		err = invalid(cpath, "must be a string or an array of content blocks")
	}
	return append(dst, part), err
}
