package relay

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/routing"
)

// KeyTest is the outcome of testing one channel key.
type KeyTest struct {
	Key       string  `json:"key"` // display id, never the secret
	OK        bool    `json:"ok"`
	Status    int     `json:"status,omitempty"` // the upstream's HTTP status, when it answered
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	State     string  `json:"state"` // the key's breaker state after the test
}

// TestChannel sends a minimal generation request (one short user message,
// a few output tokens) through each key of ch, in the channel's own
// protocol, and feeds the outcome to the breakers: a key that answers is
// back in rotation, one that is refused is taken out. model is the public
// model to ask for ("" takes the channel's first). The calls are the
// operator's and are not billed to anyone.
func (rl *Relay) TestChannel(ctx context.Context, ch *catalog.Channel, model string) []KeyTest {
	if model == "" && len(ch.Models) > 0 {
		model = ch.Models[0]
	}
	out := make([]KeyTest, 0, len(ch.Keys))
	for i, key := range ch.Keys {
		if i >= len(ch.KeyIDs) {
			break
		}
		ref := routing.KeyRef{Channel: ch.ID, Key: ch.KeyIDs[i]}
		out = append(out, rl.testKey(ctx, ch, ref, key, model))
	}
	return out
}

// ProbeUnhealthy tests the keys whose breaker is not closed and that are due
// a probe (disabled keys always, open ones once their cooldown is over), so
// a key that recovered comes back without waiting for a user's request to
// risk it. It returns how many keys were probed.
func (rl *Relay) ProbeUnhealthy(ctx context.Context, model string) int {
	snap := rl.cat.Current()
	health := rl.router.Health
	n := 0
	for _, ref := range health.Unhealthy() {
		ch := channelByID(snap, ref.Channel)
		if ch == nil {
			continue
		}
		if health.State(ref) != routing.Disabled && !health.Acquire(ref) {
			continue // still cooling down, or a request holds the probe
		}
		for i, id := range ch.KeyIDs {
			if id == ref.Key {
				rl.testKey(ctx, ch, ref, ch.Keys[i], model)
				n++
			}
		}
	}
	return n
}

func (rl *Relay) testKey(ctx context.Context, ch *catalog.Channel, ref routing.KeyRef, key, model string) KeyTest {
	if model == "" && len(ch.Models) > 0 {
		model = ch.Models[0]
	}
	res := KeyTest{Key: ref.Key}
	out, ok := upstreamProto(ch.Type, protoChat)
	if !ok {
		res.Error = "unsupported channel type " + ch.Type
		return res
	}
	upstreamModel := ch.UpstreamModel(model)
	req := &llm.Request{Model: upstreamModel, MaxTokens: 16,
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "ping"}}}}}
	body, err := wires[out].build(req, ch)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	x := &exchange{rl: rl, id: newRequestID(), in: out, out: out, channel: ch}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	probe, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	resp, e := x.send(ctx, probe, body, upstreamModel, key)
	res.LatencyMS = ms(time.Since(start))
	health := rl.router.Health
	if e == nil {
		resp.Body.Close()
		res.OK, res.Status = true, resp.StatusCode
		health.Success(ref)
	} else {
		res.Error, res.Status = e.Code+": "+e.Message, e.Status
		if f, retry := classify(e); retry {
			health.Fail(ref, f, e.Code, e.RetryAfter)
		} else {
			health.Success(ref) // the key was accepted; the request was not
			res.OK = e.Kind == llm.KindUpstreamClient
		}
	}
	res.State = health.State(ref).String()
	rl.log.Info("channel key tested", "channel", ch.Name, "key", ref.Key, "ok", res.OK, "state", res.State, "err", res.Error)
	return res
}

// Health is the breaker registry (for the admin API).
func (rl *Relay) Health() *routing.Health { return rl.router.Health }

// channelByID finds an enabled channel of the snapshot by id.
func channelByID(snap *catalog.Snapshot, id int64) *catalog.Channel {
	for _, m := range snap.Models() {
		for _, ch := range m.Channels {
			if ch.ID == id {
				return ch
			}
		}
	}
	return nil
}

// Channel finds an enabled channel of the current snapshot by id (a
// number) or name, for the admin API.
func (rl *Relay) Channel(ref string) *catalog.Channel {
	id, err := strconv.ParseInt(ref, 10, 64)
	for _, m := range rl.cat.Current().Models() {
		for _, ch := range m.Channels {
			if err == nil && ch.ID == id || ch.Name == ref {
				return ch
			}
		}
	}
	return nil
}
