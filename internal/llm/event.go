package llm

// EventKind says which fields of an Event are meaningful.
type EventKind uint8

const (
	// EventText: a piece of answer text in Text.
	EventText EventKind = iota + 1
	// EventThinking: a piece of reasoning text in Text.
	EventThinking
	// EventSignature: the signature (Text) of the reasoning just streamed;
	// it closes that reasoning block.
	EventSignature
	// EventRedactedThinking: an encrypted reasoning block, whole, in Text.
	EventRedactedThinking
	// EventToolCall: the start of tool call number Index (0, 1, ... in the
	// order the calls start) with its ID, Name and, for Gemini, Signature.
	// Text holds the arguments when they come whole (Gemini) or their
	// first fragment; it may be empty.
	EventToolCall
	// EventToolArgs: a fragment (Text) of the JSON arguments of tool call
	// number Index.
	EventToolArgs
	// EventUsage: the usage so far. Each replaces the one before (upstreams
	// report cumulative figures); the last one is the request's usage.
	EventUsage
	// EventStop: why generation ended (Stop, StopSequence). It may come
	// before the last EventUsage.
	EventStop
	// EventError: the upstream reported an error mid-stream (Err).
	EventError
)

// Event is one step of a streamed answer in provider-neutral form. Stream
// decoders turn upstream SSE events into Events; stream encoders turn
// Events into the client's SSE events.
type Event struct {
	Kind         EventKind
	Index        int
	Text         string
	ID           string
	Name         string
	Signature    string
	Stop         StopReason
	StopSequence string
	Usage        Usage
	Err          *Error
}

// StreamDecoder reads an upstream's stream. The relay splits the stream into
// SSE events and calls Decode once per event with the value of its "event:"
// field (empty when there is none) and of its "data:" field; it appends the
// resulting Events to dst. Done reports whether the stream reached its
// proper end (OpenAI's [DONE], Anthropic's message_stop, Responses'
// response.completed, a Gemini chunk with a finish reason): an upstream that
// closes the connection before that broke the stream. An error means the
// event could not be understood; the relay then ends the stream as broken.
type StreamDecoder interface {
	Decode(dst []Event, event, data []byte) ([]Event, error)
	Done() bool
}

// StreamEncoder writes a client's stream. Encode appends the SSE events
// that ev becomes (possibly none: state is kept until it is needed) to dst;
// Finish appends what ends a complete stream (closing blocks, the final
// usage, a terminator); Fail appends the protocol's error event for an
// upstream that broke mid-stream, after which nothing else is written.
type StreamEncoder interface {
	Encode(dst []byte, ev Event) []byte
	Finish(dst []byte) []byte
	Fail(dst []byte, e *Error) []byte
}
