package relay

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// pumpStream relays an upstream stream event by event as it arrives: each
// read is split into whole SSE events, each event decoded (to meter it and to
// know when the stream properly ends) and either passed on as it came (enc
// nil: same protocol) or translated by enc into the client's protocol. What
// one read yields is written in one write and one flush; nothing waits for
// more than the end of its own event.
func (x *exchange) pumpStream(w http.ResponseWriter, resp *http.Response, clientCtx context.Context,
	cancel context.CancelFunc, dec llm.StreamDecoder, enc llm.StreamEncoder) *llm.Error {
	rc, idle, bp := x.startStream(w, cancel)
	defer idle.Stop()
	defer chunks.Put(bp)
	buf := *bp
	var pending, out []byte
	var events []llm.Event
	var werr, derr error
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && werr == nil && derr == nil {
			idle.Reset(x.rl.opts.IdleTimeout)
			data := buf[:n]
			if len(pending) > 0 {
				pending = append(pending, data...)
				data = pending
			}
			out = out[:0]
			pos := 0
			for {
				end := sse.EventEnd(data[pos:])
				if end < 0 {
					break
				}
				raw := data[pos : pos+end]
				pos += end
				name, payload := sse.Fields(raw)
				if len(payload) == 0 {
					if enc == nil {
						out = append(out, raw...) // comments and keep-alives pass through
					}
					continue
				}
				events, derr = dec.Decode(events[:0], name, payload)
				if derr != nil {
					break
				}
				x.meterEvents(events)
				if enc == nil {
					out = append(out, raw...)
					continue
				}
				for _, ev := range events {
					out = enc.Encode(out, ev)
				}
			}
			pending = append(pending[:0], data[pos:]...)
			if len(pending) > maxPendingEvent && derr == nil {
				derr = errors.New("an upstream stream event exceeds the size limit")
			}
			if len(out) > 0 {
				if _, werr = w.Write(out); werr == nil {
					werr = rc.Flush()
				}
			}
		}
		switch {
		case werr != nil:
			return x.clientGone(werr)
		case derr != nil:
			return x.endBroken(w, rc, enc, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_stream",
				Message: "the upstream sent a stream the gateway could not read", Cause: derr})
		case err == nil:
			continue
		case errors.Is(err, io.EOF) && x.upstreamFailed:
			x.cut = true
			return nil // the upstream's error event already ended the stream
		case dec.Done():
			// The upstream's stream is complete; a read error after its end
			// (the client hanging up, which cancels the upstream read)
			// loses nothing.
			if enc != nil {
				if _, werr = w.Write(enc.Finish(out[:0])); werr == nil {
					_ = rc.Flush()
				}
			}
			return nil
		case clientCtx.Err() != nil:
			return x.clientGone(err)
		default:
			e := &llm.Error{Kind: llm.KindUpstream, Code: "upstream_stream_broken",
				Message: "the upstream stream ended unexpectedly", Cause: err}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				e = &llm.Error{Kind: llm.KindTimeout, Code: "upstream_timeout", Message: "the upstream stream stalled", Cause: err}
			}
			return x.endBroken(w, rc, enc, e)
		}
	}
}

// meterEvents records what decoded upstream events mean for the bill.
func (x *exchange) meterEvents(events []llm.Event) {
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case llm.EventUsage:
			x.usage, x.source = ev.Usage, llm.SourceUpstream
			continue
		case llm.EventError:
			x.errClass = llm.KindUpstream.String()
			x.upstreamFailed = true
			continue
		case llm.EventText, llm.EventThinking, llm.EventToolArgs, llm.EventToolCall:
			x.chunks++
		}
		if x.ttft == 0 {
			x.ttft = x.rl.opts.Now().Sub(x.start)
			x.delivered = true
		}
	}
}

// endBroken ends a stream the upstream broke with the client protocol's
// error event, never a clean finish.
func (x *exchange) endBroken(w http.ResponseWriter, rc *http.ResponseController, enc llm.StreamEncoder, e *llm.Error) *llm.Error {
	x.errClass = e.Kind.String()
	x.cut = true
	x.rl.router.Health.Fail(x.keyRef, routing.Transient, e.Code, 0)
	x.rl.log.Warn("upstream stream broken", "request_id", x.id, "err", e.Error(), "upstream_request_id", x.upstream)
	var b []byte
	if enc != nil {
		b = enc.Fail(nil, e)
	} else {
		b = wires[x.in].streamError(e, x.id)
	}
	_, _ = w.Write(b)
	_ = rc.Flush()
	return nil
}
