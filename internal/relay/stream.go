package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// readers are the per-stream line buffers. 2 KiB holds any usage chunk;
// a longer line (a big tool-call argument) passes through in pieces.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 2<<10) }}

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	usageKey   = []byte(`"usage"`)
	errorKey   = []byte(`{"error"`)
)

// relayStream passes an SSE stream through line by line, flushing at the
// end of every event. It reads usage as it passes, hides the usage-only
// chunk when the gateway (not the client) asked for it, and ends a stream
// the upstream broke with an error event rather than a clean finish.
func (x *exchange) relayStream(w http.ResponseWriter, resp *http.Response, clientCtx context.Context, cancel context.CancelFunc) *llm.Error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// The headers go out with the first event, in the same write.
	w.WriteHeader(http.StatusOK)
	x.status = http.StatusOK

	// A stream that goes quiet for longer than the idle timeout is broken.
	idle := time.AfterFunc(x.rl.opts.IdleTimeout, cancel)
	defer idle.Stop()

	br := readers.Get().(*bufio.Reader)
	br.Reset(resp.Body)
	defer func() { br.Reset(nil); readers.Put(br) }()

	hideUsage := !x.req.IncludeUsage
	done := false
	skipping := false // inside an event the client must not see
	var werr error
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			idle.Reset(x.rl.opts.IdleTimeout)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is content, never the small
			// usage chunk: pass it through in pieces.
			if !skipping && werr == nil {
				_, werr = w.Write(line)
			}
			continue
		}
		if len(line) > 0 {
			trimmed := bytes.TrimRight(line, "\r\n")
			switch {
			case len(trimmed) == 0: // end of event
				if !skipping && werr == nil {
					_, werr = w.Write(line)
				}
				// Flush when the next event has not arrived yet, so events
				// that came in one read go out in one write.
				if werr == nil && br.Buffered() == 0 {
					werr = rc.Flush()
				}
				skipping = false
				continue
			case bytes.HasPrefix(trimmed, dataPrefix):
				payload := bytes.TrimSpace(trimmed[len(dataPrefix):])
				if bytes.Equal(payload, doneMarker) {
					done = true
				} else if x.meter(payload) && hideUsage {
					skipping = true
				}
			}
			if !skipping && werr == nil {
				_, werr = w.Write(line)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && done {
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
	if !bytes.Contains(payload, usageKey) {
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
	x.status = 499
	return nil
}
