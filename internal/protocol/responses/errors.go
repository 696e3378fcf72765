package responses

import (
	"net/http"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
	"github.com/tokenhot/tokenhot/internal/surface/openai"
)

// ErrorBody is the HTTP status and the OpenAI error envelope for e: the
// Responses API shares the OpenAI table of statuses and error types.
func ErrorBody(e *llm.Error, requestID string) (status int, body []byte) {
	return openai.Status(e), openai.ErrorBody(e, requestID)
}

// WriteError writes e as an OpenAI error response.
func WriteError(w http.ResponseWriter, e *llm.Error, requestID string) {
	openai.WriteError(w, e, requestID)
}

// StreamErrorEvent is the Responses error event for a stream that breaks
// before an Encoder exists. Its sequence_number is 0; once an Encoder has
// written events, use Encoder.Fail, which numbers the event in sequence.
func StreamErrorEvent(e *llm.Error, requestID string) []byte {
	return appendErrorEvent(nil, e, requestID, 0)
}

// appendErrorEvent appends `event: error` with the flat payload the
// Responses API uses: the npm SDK throws an APIError built from it, and
// openai-go yields it as a ResponseErrorEvent. There is deliberately no
// top-level "error" key, which openai-go would treat as a different shape.
func appendErrorEvent(dst []byte, e *llm.Error, requestID string, seq int64) []byte {
	msg := e.Message
	if requestID != "" {
		msg += " (request id: " + requestID + ")"
	}
	b := make([]byte, 0, 96+len(msg))
	b = append(b, `{"type":"error","code":`...)
	b = appendNullable(b, e.Code)
	b = append(b, `,"message":`...)
	b = sse.AppendString(b, msg)
	b = append(b, `,"param":`...)
	b = appendNullable(b, e.Param)
	b = append(b, `,"sequence_number":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '}')
	return sse.AppendEvent(dst, "error", b)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return sse.AppendString(b, s)
}
