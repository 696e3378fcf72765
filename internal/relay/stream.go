package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/sse"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// chunks are the per-stream read buffers.
var chunks = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

// maxPendingEvent bounds how much of one unfinished event is held back
// while waiting for its end. A larger event (a huge tool-call argument) is
// passed on as it comes, unmetered: it is never the small usage chunk.
const maxPendingEvent = 256 << 10

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	usageKey   = []byte(`"usage"`)
	errorKey   = []byte(`{"error"`)
)

// relayStream passes an SSE stream through as it arrives. Each read from
// the upstream is split into whole events, which are metered (usage, output
// chunks) and written to the client in one write and one flush; an
// unfinished event waits for its end. It hides the usage-only chunk when
// the gateway (not the client) asked for it, and ends a stream the upstream
// broke with an error event rather than a clean finish.
func (x *exchange) relayStream(w http.ResponseWriter, resp *http.Response, clientCtx context.Context, cancel context.CancelFunc) *llm.Error {
	rc, idle, bp := x.startStream(w, cancel)
	defer idle.Stop()
	defer chunks.Put(bp)
	buf := *bp
	var pending []byte // the unfinished event at the end of the last read
	hideUsage := !x.peek.IncludeUsage
	done := false
	var werr error
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && werr == nil {
			idle.Reset(x.rl.opts.IdleTimeout)
			data := buf[:n]
			if len(pending) > 0 {
				pending = append(pending, data...)
				data = pending
			}
			var rest []byte
			var d bool
			rest, d, werr = x.relayEvents(w, data, hideUsage)
			done = done || d
			pending = append(pending[:0], rest...) // may overlap: append copies like memmove
			if len(pending) > maxPendingEvent && werr == nil {
				_, werr = w.Write(pending)
				pending = pending[:0]
			}
			if werr == nil {
				werr = rc.Flush()
			}
		}
		if err != nil {
			// After [DONE] the answer is complete: a client that hangs up
			// then (cancelling the upstream read) left nothing unsent.
			if done {
				if len(pending) > 0 && werr == nil {
					_, _ = w.Write(pending) // a last event without its blank line
				}
				return nil
			}
			return x.broken(w, rc, err, werr, clientCtx)
		}
		if werr != nil {
			// The client is gone: stop reading; finish bills what was sent.
			return x.clientGone(werr)
		}
	}
}

// relayEvents writes the whole events at the start of data, skipping a
// usage-only chunk the client did not ask for, and returns the unfinished
// remainder and whether the [DONE] marker went by.
func (x *exchange) relayEvents(w io.Writer, data []byte, hideUsage bool) (rest []byte, done bool, err error) {
	written := 0 // data[:written] is written or skipped
	pos := 0     // start of the next event
	for {
		end := sse.EventEnd(data[pos:])
		if end < 0 {
			break
		}
		event := data[pos : pos+end]
		skip := false
		for len(event) > 0 {
			line := event
			if i := bytes.IndexByte(event, '\n'); i >= 0 {
				line, event = event[:i], event[i+1:]
			} else {
				event = nil
			}
			line = bytes.TrimRight(line, "\r")
			if !bytes.HasPrefix(line, dataPrefix) {
				continue
			}
			payload := bytes.TrimSpace(line[len(dataPrefix):])
			if bytes.Equal(payload, doneMarker) {
				done = true
			} else if x.meter(payload) && hideUsage {
				skip = true
			}
		}
		if skip {
			if _, err := w.Write(data[written:pos]); err != nil {
				return nil, done, err
			}
			written = pos + end
		}
		pos += end
	}
	if pos > written {
		if _, err := w.Write(data[written:pos]); err != nil {
			return nil, done, err
		}
	}
	return data[pos:], done, nil
}

// startStream sends an SSE answer's headers (they go out with the first
// event, in the same write), arms the idle timer — a stream quiet for
// longer than the idle timeout is broken — and takes a read buffer.
func (x *exchange) startStream(w http.ResponseWriter, cancel context.CancelFunc) (*http.ResponseController, *time.Timer, *[]byte) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	x.status = http.StatusOK
	return http.NewResponseController(w), time.AfterFunc(x.rl.opts.IdleTimeout, cancel), chunks.Get().(*[]byte)
}

// meter inspects one data payload: it counts content events, records the
// usage, and reports whether the event is a usage-only chunk.
func (x *exchange) meter(payload []byte) (usageOnly bool) {
	if bytes.HasPrefix(payload, errorKey) {
		// An error event from the upstream: passed on, not output.
		x.errClass = llm.KindUpstream.String()
		return false
	}
	if x.ttft == 0 {
		x.ttft = x.rl.opts.Now().Sub(x.start)
		x.delivered = true
	}
	if !hasUsageObject(payload) {
		if carriesOutput(payload) {
			x.chunks++
		}
		return false
	}
	res := gjson.GetManyBytes(payload, "usage", "choices")
	if u, ok := surface.Usage(res[0]); ok {
		// Providers that send usage on every chunk send it cumulatively
		// (Ark's chunk_include_usage): the last one wins, never a sum.
		x.usage, x.source = u, llm.SourceUpstream
		if res[1].IsArray() && len(res[1].Raw) <= 2 || !res[1].Exists() {
			return true
		}
	}
	if carriesOutput(payload) {
		x.chunks++
	}
	return false
}

// hasUsageObject reports whether a chunk carries a usage object, cheaply:
// streams that include usage send "usage":null on every other chunk, and
// those need no parsing.
func hasUsageObject(payload []byte) bool {
	for {
		i := bytes.Index(payload, usageKey)
		if i < 0 {
			return false
		}
		payload = bytes.TrimLeft(payload[i+len(usageKey):], " \t\r\n")
		if len(payload) > 0 && payload[0] == ':' {
			payload = bytes.TrimLeft(payload[1:], " \t\r\n")
			if len(payload) > 0 && payload[0] == '{' {
				return true
			}
		}
	}
}

// outputKeys are the delta fields that carry generated tokens.
var outputKeys = [][]byte{[]byte(`"content":"`), []byte(`"arguments":"`), []byte(`"reasoning_content":"`), []byte(`"refusal":"`)}

// carriesOutput reports whether a chunk holds generated text (a non-empty
// content, tool-call argument, reasoning or refusal string). A chunk is
// about one token, so counting them estimates the output of a stream that
// ended before its usage arrived.
func carriesOutput(payload []byte) bool {
	for _, k := range outputKeys {
		rest := payload
		for {
			i := bytes.Index(rest, k)
			if i < 0 {
				break
			}
			rest = rest[i+len(k):]
			if len(rest) > 0 && rest[0] != '"' {
				return true
			}
		}
	}
	return false
}

// broken ends a stream that stopped before its end marker.
func (x *exchange) broken(w http.ResponseWriter, rc *http.ResponseController, readErr, writeErr error, clientCtx context.Context) *llm.Error {
	if writeErr != nil || clientCtx.Err() != nil {
		return x.clientGone(writeErr)
	}
	e := &llm.Error{Kind: llm.KindUpstream, Code: "upstream_stream_broken",
		Message: "the upstream stream ended unexpectedly", Cause: readErr}
	if errors.Is(readErr, context.Canceled) || errors.Is(readErr, context.DeadlineExceeded) {
		e = &llm.Error{Kind: llm.KindTimeout, Code: "upstream_timeout",
			Message: "the upstream stream stalled", Cause: readErr}
	}
	x.errClass = e.Kind.String()
	x.rl.log.Warn("upstream stream broken", "request_id", x.id, "err", readErr, "upstream_request_id", x.upstream)
	if x.source == llm.SourceUpstream && x.usage.Output > 0 {
		// The usage arrived; only [DONE] is missing. Nothing was lost.
		x.errClass = ""
		_, _ = w.Write([]byte("data: [DONE]\n\n"))
		_ = rc.Flush()
		return nil
	}
	x.cut = true
	x.rl.router.Health.Fail(x.keyRef, routing.Transient, e.Code, 0)
	_, _ = w.Write(surface.StreamErrorEvent(e, x.id))
	_ = rc.Flush()
	return nil
}

// clientGone notes a client that left mid-stream. Reading stops (the
// upstream call is cancelled with the client's context) and finish bills the
// output that was delivered, from the upstream's usage if it had arrived or
// else estimated, and marks the row's usage source accordingly.
func (x *exchange) clientGone(error) *llm.Error {
	x.errClass = "client_gone"
	x.cut = true
	x.status = 499
	return nil
}
