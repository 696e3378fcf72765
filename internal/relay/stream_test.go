package relay

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const sampleStream = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
	"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
	"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n" +
	": keep-alive comment\n\n" +
	"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
	"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n" +
	"data: [DONE]\n\n"

const usageEvent = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"

func newTestExchange() *exchange {
	return &exchange{rl: &Relay{opts: Options{Now: time.Now}}, start: time.Now()}
}

// feed runs the stream through relayEvents in the given pieces, carrying
// unfinished events over as relayStream does.
func feed(t *testing.T, x *exchange, pieces []string, hide bool) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	var pending []byte
	done := false
	for _, p := range pieces {
		data := append(pending, p...)
		rest, d, err := x.relayEvents(&out, data, hide)
		if err != nil {
			t.Fatal(err)
		}
		done = done || d
		pending = append([]byte(nil), rest...)
	}
	if len(pending) != 0 {
		t.Fatalf("unfinished event left over: %q", pending)
	}
	return out.String(), done
}

// Whatever the upstream's read boundaries, the client receives the same
// bytes (less the usage chunk it did not ask for), and the gateway meters
// the same usage and output.
func TestRelayEventsAtEverySplit(t *testing.T) {
	for _, hide := range []bool{false, true} {
		want := sampleStream
		if hide {
			want = strings.Replace(sampleStream, usageEvent, "", 1)
		}
		for cut := 0; cut <= len(sampleStream); cut++ {
			for _, cut2 := range []int{cut, (cut + len(sampleStream)) / 2} {
				x := newTestExchange()
				got, done := feed(t, x, []string{sampleStream[:cut], sampleStream[cut:cut2], sampleStream[cut2:]}, hide)
				if got != want || !done {
					t.Fatalf("hide=%v split at %d,%d:\n got %q\nwant %q (done %v)", hide, cut, cut2, got, want, done)
				}
				if x.usage.Input != 5 || x.usage.Output != 2 || x.chunks != 2 || !x.delivered {
					t.Fatalf("split at %d,%d: metered usage %+v, chunks %d", cut, cut2, x.usage, x.chunks)
				}
			}
		}
	}
}

func FuzzRelayEvents(f *testing.F) {
	f.Add([]byte(sampleStream), 10)
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n"), 3)
	f.Fuzz(func(t *testing.T, stream []byte, cut int) {
		if cut < 0 || cut > len(stream) {
			cut = len(stream) / 2
		}
		x := newTestExchange()
		var out bytes.Buffer
		rest, _, err := x.relayEvents(&out, stream[:cut], false)
		if err != nil {
			t.Fatal(err)
		}
		rest2, _, err := x.relayEvents(&out, append(append([]byte(nil), rest...), stream[cut:]...), false)
		if err != nil {
			t.Fatal(err)
		}
		// Without hiding, nothing is lost or invented: output + unfinished
		// remainder is the input.
		if got := out.String() + string(rest2); got != string(stream) {
			t.Fatalf("output %q + rest %q != input %q", out.String(), rest2, stream)
		}
	})
}

func TestHasUsageObject(t *testing.T) {
	tests := map[string]bool{
		`{"choices":[],"usage":{"prompt_tokens":1}}`:        true,
		`{"choices":[],"usage" : {"prompt_tokens":1}}`:      true,
		`{"choices":[{"delta":{}}],"usage":null}`:           false,
		`{"choices":[{"delta":{"content":"\"usage\":{"}}]}`: false, // escaped quotes in content
		`{"choices":[]}`: false,
	}
	for in, want := range tests {
		if got := hasUsageObject([]byte(in)); got != want {
			t.Errorf("hasUsageObject(%s) = %v, want %v", in, got, want)
		}
	}
}
