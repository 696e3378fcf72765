package responses

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// ParseResponse decodes a non-streamed answer of a Responses upstream.
// Output items other than reasoning, messages and function calls (hosted
// tool calls the gateway never asks for) are skipped.
func ParseResponse(body []byte) (*llm.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, badResponse("the upstream response is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, badResponse("the upstream response is not a JSON object")
	}
	if e := root.Get("error"); e.IsObject() {
		return nil, upstreamError(e.Get("code").String(), e.Get("message").String())
	}
	out := root.Get("output")
	if !out.IsArray() {
		return nil, badResponse("the upstream response has no output array")
	}
	r := &llm.Response{ID: root.Get("id").String(), Model: root.Get("model").String()}
	calls := false
	for _, it := range out.Array() {
		parts, err := outputParts(it)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			calls = calls || p.Kind == llm.PartToolCall
		}
		r.Parts = append(r.Parts, parts...)
	}
	r.Stop = stopReason(root.Get("status").String(), root.Get("incomplete_details.reason").String(), calls)
	if u := root.Get("usage"); u.IsObject() {
		r.Usage, r.HasUsage = usage(u), true
	}
	return r, nil
}

// outputParts converts one output item.
func outputParts(it gjson.Result) ([]llm.Part, error) {
	if !it.IsObject() {
		return nil, badResponse("an output item of the upstream response is not an object")
	}
	switch it.Get("type").String() {
	case "message":
		var parts []llm.Part
		for _, c := range it.Get("content").Array() {
			switch c.Get("type").String() {
			case "output_text":
				parts = append(parts, llm.Part{Kind: llm.PartText, Text: c.Get("text").String()})
			case "refusal":
				parts = append(parts, llm.Part{Kind: llm.PartText, Text: c.Get("refusal").String()})
			}
		}
		return parts, nil
	case "reasoning":
		text := joinItemTexts(it.Get("summary"))
		if text == "" {
			text = joinItemTexts(it.Get("content"))
		}
		sig := it.Get("encrypted_content").String()
		if text == "" && sig == "" {
			return nil, nil
		}
		return []llm.Part{{Kind: llm.PartThinking, Text: text, Signature: sig}}, nil
	case "function_call":
		callID := it.Get("call_id").String()
		if callID == "" {
			return nil, badResponse("a function_call of the upstream response has no call_id")
		}
		return []llm.Part{{Kind: llm.PartToolCall, ID: callID, Name: it.Get("name").String(),
			Arguments: it.Get("arguments").String()}}, nil
	}
	return nil, nil
}

// joinItemTexts joins summary or reasoning texts as ParseRequest does, so
// a reasoning item survives a round trip through a client unchanged.
func joinItemTexts(parts gjson.Result) string {
	var s string
	for _, p := range parts.Array() {
		t := p.Get("text").String()
		if t == "" {
			continue
		}
		if s != "" {
			s += "\n\n"
		}
		s += t
	}
	return s
}

// stopReason maps the final status: an incomplete response says why; a
// completed one that called functions stopped for tool use.
func stopReason(status, reason string, calls bool) llm.StopReason {
	if status == "incomplete" {
		switch reason {
		case "max_output_tokens":
			return llm.StopLength
		case "content_filter":
			return llm.StopFilter
		}
	}
	if calls {
		return llm.StopToolUse
	}
	return llm.StopEnd
}

// usage splits the Responses totals into disjoint kinds: input_tokens
// includes cached and cache-write tokens, output_tokens reasoning tokens.
func usage(u gjson.Result) llm.Usage {
	in, out := u.Get("input_tokens").Int(), u.Get("output_tokens").Int()
	cached := u.Get("input_tokens_details.cached_tokens").Int()
	written := u.Get("input_tokens_details.cache_write_tokens").Int()
	reasoning := u.Get("output_tokens_details.reasoning_tokens").Int()
	return llm.Usage{
		Input:       max(in-cached-written, 0),
		CachedInput: cached,
		CacheWrite:  written,
		Output:      max(out-reasoning, 0),
		Reasoning:   reasoning,
	}
}

func badResponse(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_response",
		Message: "the upstream returned an invalid response", Cause: fmt.Errorf("responses: %s", msg)}
}

// upstreamError classifies an error the upstream reported in a body or
// mid-stream. Only errors that are the caller's fault keep the upstream's
// message; for the others it may name the provider account, so it goes to
// the log (Cause) and the client sees a generic message.
func upstreamError(code, message string) *llm.Error {
	cause := fmt.Errorf("responses upstream error %q: %s", code, message)
	switch code {
	case "rate_limit_exceeded":
		return &llm.Error{Kind: llm.KindRateLimited, Code: code,
			Message: "the upstream is rate limited; retry later", Cause: cause}
	case "server_is_overloaded", "slow_down":
		return &llm.Error{Kind: llm.KindUnavailable, Code: code,
			Message: "the upstream is overloaded; retry later", Cause: cause}
	case "invalid_prompt", "context_length_exceeded", "invalid_request_error", "invalid_image",
		"invalid_image_format", "invalid_base64_image", "invalid_image_url", "image_too_large",
		"image_too_small", "image_parse_error", "image_content_policy_violation", "invalid_image_mode",
		"image_file_too_large", "unsupported_image_media_type", "empty_image_file", "failed_to_download_image",
		"image_file_not_found":
		if message == "" {
			message = "the upstream rejected the request (" + code + ")"
		}
		return &llm.Error{Kind: llm.KindUpstreamClient, Code: code, Message: message, Cause: cause}
	}
	if code == "" {
		code = "upstream_error"
	}
	return &llm.Error{Kind: llm.KindUpstream, Code: code, Message: "the upstream failed to generate a response", Cause: cause}
}
