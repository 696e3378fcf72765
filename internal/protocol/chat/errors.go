package chat

import (
	"net/http"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/surface/openai"
)

// The error table (llm.Kind → status and OpenAI error type) lives in the
// OpenAI surface; Chat clients must see exactly the errors that surface
// writes, so these only delegate.

// ErrorBody returns the status and the {"error":{...}} body for e, with the
// request id appended to the message.
func ErrorBody(e *llm.Error, requestID string) (status int, body []byte) {
	e = forOpenAI(e)
	return openai.Status(e), openai.ErrorBody(e, requestID)
}

// WriteError writes e as an OpenAI error response.
func WriteError(w http.ResponseWriter, e *llm.Error, requestID string) {
	openai.WriteError(w, forOpenAI(e), requestID)
}

// StreamErrorEvent is the data event that ends a broken Chat stream; the
// SDKs raise an error for any data payload carrying "error".
func StreamErrorEvent(e *llm.Error, requestID string) []byte {
	return openai.StreamErrorEvent(e, requestID)
}

// forOpenAI turns Anthropic's overloaded status 529, passed through from an
// Anthropic upstream, into the 503 OpenAI clients know (both retry it).
func forOpenAI(e *llm.Error) *llm.Error {
	if e.Status != 529 {
		return e
	}
	c := *e
	c.Status = http.StatusServiceUnavailable
	return &c
}

// invalid is a client-side request error naming the offending field.
func invalid(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Param: param, Message: msg}
}

// badUpstream is an upstream answer that cannot be understood.
func badUpstream(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_response", Message: msg}
}
