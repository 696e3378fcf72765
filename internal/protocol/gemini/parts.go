package gemini

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// newCallID names a function call that Gemini sent without an id (2.x
// models never send one). Tests replace it for deterministic output.
var newCallID = func() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:])
}

// Writing the parts of a candidate, shared by BuildResponse and the stream
// encoder. Parts are appended with sse.AppendString rather than
// encoding/json because the encoder runs per token.

func appendTextPart(b []byte, text string, thought bool, sig string) []byte {
	b = append(b, `{"text":`...)
	b = sse.AppendString(b, text)
	if thought {
		b = append(b, `,"thought":true`...)
	}
	b = appendSignature(b, sig)
	return append(b, '}')
}

// appendSignature writes a thoughtSignature only when it is standard
// base64: it is a bytes field, and go-genai fails to decode the whole
// response otherwise. Signatures from other providers that are not (none
// known today) are dropped rather than break the client.
func appendSignature(b []byte, sig string) []byte {
	if !validSignature(sig) {
		return b
	}
	b = append(b, `,"thoughtSignature":`...)
	return sse.AppendString(b, sig)
}

func validSignature(sig string) bool {
	if sig == "" {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(sig)
	return err == nil
}

// appendCallPart writes a function call with its id, so a client can send
// it back with the function's response and the gateway can pair them.
func appendCallPart(b []byte, id, name, args, sig string) []byte {
	b = append(b, `{"functionCall":{`...)
	if id != "" {
		b = append(b, `"id":`...)
		b = sse.AppendString(b, llm.PackCallID(id, ""))
		b = append(b, ',')
	}
	b = append(b, `"name":`...)
	b = sse.AppendString(b, name)
	b = append(b, `,"args":`...)
	b = appendArgs(b, args)
	b = append(b, '}')
	b = appendSignature(b, sig)
	return append(b, '}')
}

// appendArgs writes arguments as one-line JSON; anything that is not a
// JSON object becomes {} (Gemini's args is a Struct).
func appendArgs(b []byte, args string) []byte {
	s := strings.TrimSpace(args)
	if s == "" || s[0] != '{' {
		return append(b, "{}"...)
	}
	n := len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, []byte(s)); err != nil {
		return append(b[:n], "{}"...)
	}
	return buf.Bytes()
}

func appendInlinePart(b []byte, mime, data string) []byte {
	b = append(b, `{"inlineData":{"mimeType":`...)
	b = sse.AppendString(b, mime)
	b = append(b, `,"data":`...)
	b = sse.AppendString(b, data)
	return append(b, "}}"...)
}

// appendResponsePart writes one part of a complete answer; ok is false for
// parts Gemini cannot show (redacted thinking, tool results).
func appendResponsePart(b []byte, p llm.Part) ([]byte, bool) {
	switch p.Kind {
	case llm.PartText:
		return appendTextPart(b, p.Text, false, ""), true
	case llm.PartThinking:
		return appendTextPart(b, p.Text, true, p.Signature), true
	case llm.PartToolCall:
		return appendCallPart(b, p.ID, p.Name, p.Arguments, p.Signature), true
	case llm.PartImage, llm.PartFile:
		if p.Data != "" {
			return appendInlinePart(b, p.MIME, p.Data), true
		}
	}
	return b, false
}

// appendUsage writes usageMetadata. Gemini's promptTokenCount includes the
// cached tokens; thoughts are counted apart from candidates.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"promptTokenCount":`...)
	b = strconv.AppendInt(b, u.PromptTokens(), 10)
	b = append(b, `,"candidatesTokenCount":`...)
	b = strconv.AppendInt(b, u.Output, 10)
	if u.CachedInput > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = strconv.AppendInt(b, u.CachedInput, 10)
	}
	if u.Reasoning > 0 {
		b = append(b, `,"thoughtsTokenCount":`...)
		b = strconv.AppendInt(b, u.Reasoning, 10)
	}
	b = append(b, `,"totalTokenCount":`...)
	b = strconv.AppendInt(b, u.Total(), 10)
	return append(b, '}')
}

// finishReason is the Gemini name of a stop reason. Gemini has no reason
// for tool use: a turn that calls functions ends with STOP.
func finishReason(s llm.StopReason) string {
	switch s {
	case llm.StopLength:
		return "MAX_TOKENS"
	case llm.StopFilter:
		return "SAFETY"
	}
	return "STOP"
}

// stopReason maps a finishReason. The reasons about malformed or unexpected
// calls end the turn normally, as LiteLLM does; a call among the parts makes
// a normal end a tool-use stop.
func stopReason(finish string, sawCall bool) llm.StopReason {
	s := llm.StopEnd
	switch finish {
	case "MAX_TOKENS":
		s = llm.StopLength
	case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "OTHER":
		s = llm.StopFilter
	default:
		if strings.HasPrefix(finish, "IMAGE_") {
			s = llm.StopFilter
		}
	}
	if s == llm.StopEnd && sawCall {
		s = llm.StopToolUse
	}
	return s
}

// usageFrom splits usageMetadata into disjoint kinds: the prompt count
// includes the cached tokens, and tool-use prompt tokens (from Google's
// own tools) are input too.
func usageFrom(v gjson.Result) llm.Usage {
	var prompt, cached, tool, candidates, thoughts int64
	v.ForEach(func(k, n gjson.Result) bool {
		switch k.Str {
		case "promptTokenCount":
			prompt = max(n.Int(), 0)
		case "cachedContentTokenCount":
			cached = max(n.Int(), 0)
		case "toolUsePromptTokenCount":
			tool = max(n.Int(), 0)
		case "candidatesTokenCount":
			candidates = max(n.Int(), 0)
		case "thoughtsTokenCount":
			thoughts = max(n.Int(), 0)
		}
		return true
	})
	return llm.Usage{Input: max(prompt-cached, 0) + tool, CachedInput: cached, Output: candidates, Reasoning: thoughts}
}
