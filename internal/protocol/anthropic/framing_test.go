package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// framing tracks an encoder's output through the rules that the SDKs and
// Claude Code rely on (provider-protocols §0.1, §7.4, §10.8).
type framing struct {
	frames       int
	open, next   int64
	delta, ended bool
}

// checkFraming checks a whole client stream: every event ends with a
// blank line and has an event line matching its data's "type";
// message_start comes first; block indexes are dense from 0, each start
// precedes its deltas, no index sits inside content_block, every block is
// stopped; one message_delta (stop reason, usage) then message_stop end it,
// or an error event does.
func checkFraming(out []byte) error {
	f := framing{open: -1}
	for len(out) > 0 {
		n := sse.EventEnd(out)
		if n < 0 {
			return fmt.Errorf("an event does not end with a blank line: %q", out)
		}
		name, data := sse.Fields(out[:n])
		out = out[n:]
		if err := f.frame(string(name), data); err != nil {
			return fmt.Errorf("event %d (%s): %w", f.frames, name, err)
		}
	}
	if !f.ended {
		return errors.New("the stream ends without message_stop or error")
	}
	return nil
}

func (f *framing) frame(name string, data []byte) error {
	f.frames++
	if f.ended {
		return errors.New("an event after the end of the stream")
	}
	if !json.Valid(data) {
		return fmt.Errorf("data is not JSON: %s", data)
	}
	v := gjson.ParseBytes(data)
	if typ := v.Get("type").String(); name == "" || typ != name {
		return fmt.Errorf("event line %q, data type %q", name, typ)
	}
	if f.frames == 1 && name != "message_start" {
		return errors.New("the first event is not message_start")
	}
	idx := v.Get("index").Int()
	switch name {
	case "message_start":
		if f.frames != 1 {
			return errors.New("a second message_start")
		}
		if !v.Get("message.usage.input_tokens").Exists() || v.Get("message.usage.output_tokens").Int() != 0 {
			return fmt.Errorf("message_start usage: %s", v.Get("message.usage").Raw)
		}
	case "content_block_start":
		switch {
		case f.delta:
			return errors.New("a block after message_delta")
		case f.open >= 0:
			return fmt.Errorf("block %d starts while block %d is open", idx, f.open)
		case idx != f.next:
			return fmt.Errorf("block index %d, want %d", idx, f.next)
		case v.Get("content_block.index").Exists():
			return errors.New("index inside content_block")
		case !v.Get("content_block.type").Exists():
			return errors.New("content_block without a type")
		}
		f.open, f.next = idx, f.next+1
	case "content_block_delta", "content_block_stop":
		if idx != f.open {
			return fmt.Errorf("%s for block %d, open block %d", name, idx, f.open)
		}
		if name == "content_block_stop" {
			f.open = -1
		} else if !v.Get("delta.type").Exists() {
			return errors.New("delta without a type")
		}
	case "message_delta":
		switch {
		case f.delta:
			return errors.New("a second message_delta")
		case f.open >= 0:
			return fmt.Errorf("message_delta while block %d is open", f.open)
		case v.Get("delta.stop_reason").Type != gjson.String:
			return errors.New("message_delta without a stop_reason")
		case v.Get("usage.output_tokens").Type != gjson.Number:
			return errors.New("message_delta without usage.output_tokens")
		}
		f.delta = true
	case "message_stop":
		if !f.delta {
			return errors.New("message_stop without message_delta")
		}
		f.ended = true
	case "error":
		if v.Get("error.type").String() == "" || v.Get("error.message").String() == "" {
			return fmt.Errorf("error event without type or message: %s", data)
		}
		f.ended = true
	default:
		return fmt.Errorf("unknown event %q", name)
	}
	return nil
}

// TestEncoderFramingRandom feeds random event sequences, including
// malformed ones (arguments for calls that are not open, usage after the
// stop, errors), and checks that the output always keeps the framing.
func TestEncoderFramingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []llm.EventKind{llm.EventText, llm.EventThinking, llm.EventSignature, llm.EventRedactedThinking,
		llm.EventToolCall, llm.EventToolArgs, llm.EventUsage, llm.EventStop, llm.EventError}
	texts := []string{"", "a", "{\"x\":", "\"<&>\"\n", "ü\u2028"}
	for i := range 2000 {
		e := NewEncoder(llm.Meta{ID: "msg_1", Model: "m"})
		var out []byte
		calls := 0
		for range rng.IntN(12) {
			ev := llm.Event{Kind: kinds[rng.IntN(len(kinds))], Text: texts[rng.IntN(len(texts))]}
			switch ev.Kind {
			case llm.EventToolCall:
				ev.Index, ev.ID, ev.Name = calls, fmt.Sprint("call_", calls), "f"
				calls++
			case llm.EventToolArgs:
				ev.Index = rng.IntN(calls + 1)
			case llm.EventError:
				if rng.IntN(4) != 0 {
					continue // keep most streams going
				}
				ev.Err = &llm.Error{Kind: llm.KindUnavailable, Message: "overloaded"}
			case llm.EventUsage:
				ev.Usage = llm.Usage{Input: 3, Output: 2, Reasoning: int64(rng.IntN(2))}
			case llm.EventStop:
				ev.Stop = []llm.StopReason{llm.StopEnd, llm.StopLength, llm.StopSequence}[rng.IntN(3)]
			}
			out = e.Encode(out, ev)
		}
		if rng.IntN(5) == 0 {
			out = e.Fail(out, nil)
		}
		out = e.Finish(out)
		if err := checkFraming(out); err != nil {
			t.Fatalf("sequence %d: %v\n%s", i, err, out)
		}
	}
}
