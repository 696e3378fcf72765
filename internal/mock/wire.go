package mock

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/sse"
)

// Responses are built by appending to a byte slice rather than through
// encoding/json: the shapes are fixed, the mock sits on the load tool's hot
// path, and hand-built bodies let each protocol's field order and nulls match
// the real API byte for byte.

// appendString appends s as a JSON string (sse.AppendString: no
// allocation, invalid UTF-8 becomes U+FFFD, so the output is always valid).
func appendString(b []byte, s string) []byte { return sse.AppendString(b, s) }

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendField appends `"name":` followed by the JSON string v, with a leading
// comma.
func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendIntField appends `,"name":n`.
func appendIntField(b []byte, name string, n int) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendInt(b, n)
}

// stream writes the events of one streamed response. It owns the request's
// goroutine: there is no goroutine or channel per stream. Every event is
// flushed as soon as it is written; content events are paced by
// Options.ChunkDelay and counted so that a CutAfter fault can break the
// connection after the right one.
type stream struct {
	x       *exchange
	flusher http.Flusher
	buf     []byte
	timer   *time.Timer
	content int  // content events sent so far
	cutAt   int  // break the stream after this content event; 0: never
	broken  bool // the client went away; later writes are skipped
}

func newStream(x *exchange, contentType string) *stream {
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	x.status = http.StatusOK
	x.stream = true
	x.w.WriteHeader(http.StatusOK)
	st := &stream{x: x, buf: getBuf()}
	st.flusher, _ = x.w.(http.Flusher)
	if st.flusher != nil {
		st.flusher.Flush()
	}
	return st
}

// event starts an SSE event with an optional `event:` line and the `data: `
// prefix; the caller appends the JSON and then calls send.
func (st *stream) event(name string) {
	st.buf = st.buf[:0]
	if name != "" {
		st.buf = append(st.buf, "event: "...)
		st.buf = append(st.buf, name...)
		st.buf = append(st.buf, '\n')
	}
	st.buf = append(st.buf, "data: "...)
}

// send terminates the event with a blank line, writes and flushes it. It
// reports false once the client has gone.
func (st *stream) send() bool {
	st.buf = append(st.buf, '\n', '\n')
	return st.write()
}

// write sends buf as is and flushes.
func (st *stream) write() bool {
	if st.broken {
		return false
	}
	if _, err := st.x.w.Write(st.buf); err != nil {
		st.broken = true
		st.x.gone = true
		return false
	}
	if st.flusher != nil {
		st.flusher.Flush()
	}
	return true
}

// pace waits Options.ChunkDelay before a content event. It reports false if
// the client went away meanwhile.
func (st *stream) pace() bool {
	if st.broken {
		return false
	}
	d := st.x.s.opts.ChunkDelay
	if d <= 0 {
		return true
	}
	if st.timer == nil {
		st.timer = time.NewTimer(d)
	} else {
		st.timer.Reset(d)
	}
	select {
	case <-st.timer.C:
		return true
	case <-st.x.r.Context().Done():
		st.broken = true
		st.x.gone = true
		return false
	}
}

// expect announces the number of content events of the reply, so that a
// CutAfter beyond it still breaks the stream before its final events.
func (st *stream) expect(n int) {
	if c := st.x.fault.CutAfter; c > 0 {
		st.cutAt = min(c, n)
	}
}

// sendContent sends a content event (one that carries reply text or tool
// arguments) and breaks the connection if the request's CutAfter fault says
// this was the last one. It reports false once the client has gone.
func (st *stream) sendContent() bool {
	if !st.send() {
		return false
	}
	st.countContent()
	return true
}

// countContent counts a content event that was sent, and cuts the stream if
// it was the last one allowed.
func (st *stream) countContent() {
	st.content++
	if st.cutAt > 0 && st.content >= st.cutAt {
		st.cut()
	}
}

// cut aborts the response without its terminating chunk, so that the client
// reads an unexpected EOF instead of a clean end of stream. net/http recovers
// http.ErrAbortHandler silently; the deferred bookkeeping in ServeHTTP still
// runs.
func (st *stream) cut() {
	st.x.cut = true
	st.close()
	panic(http.ErrAbortHandler)
}

// close releases the buffer and timer.
func (st *stream) close() {
	if st.timer != nil {
		st.timer.Stop()
	}
	putBuf(st.buf)
	st.buf = nil
}
