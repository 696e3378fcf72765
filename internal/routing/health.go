package routing

import (
	"sort"
	"sync"
	"time"
)

// KeyRef names one key of one channel: the unit that fails, cools down and
// recovers. Key is the key's display id (catalog.Channel.KeyIDs), never
// the secret, so a ref survives catalogue reloads and can be shown.
type KeyRef struct {
	Channel int64
	Key     string
}

// State is a key's breaker state.
type State int

const (
	Closed   State = iota // in rotation
	HalfOpen              // cooled down: one probe request may go through
	Open                  // failing: out of rotation until its cooldown ends
	Disabled              // the upstream refused the credential or has no credit: out until a probe or an operator brings it back
)

var stateNames = [...]string{Closed: "closed", HalfOpen: "half_open", Open: "open", Disabled: "disabled"}

func (s State) String() string { return stateNames[s] }

// Failure classifies a failed upstream attempt.
type Failure int

const (
	// Transient failures (connection errors, timeouts, 5xx, overload)
	// count towards opening the breaker.
	Transient Failure = iota
	// Throttled is a 429: the key is rested for the upstream's
	// Retry-After without counting as broken; a 429 without Retry-After
	// counts as a transient failure.
	Throttled
	// Fatal failures (the upstream refused the key or the account has no
	// credit) take the key out of rotation at once.
	Fatal
)

// BreakerOptions tune the breakers; zero values take the defaults.
type BreakerOptions struct {
	Failures    int           // transient failures within Window that open a breaker (default 5)
	Window      time.Duration // default 60s
	Cooldown    time.Duration // first open period (default 30s); doubles on each reopening
	MaxCooldown time.Duration // default 10m
}

func (o *BreakerOptions) defaults() {
	if o.Failures <= 0 {
		o.Failures = 5
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	if o.MaxCooldown < o.Cooldown {
		o.MaxCooldown = max(10*time.Minute, o.Cooldown)
	}
}

// Change reports a breaker's transition, for logs and metrics.
type Change struct {
	Ref    KeyRef
	From   State
	To     State
	Reason string
	Until  time.Time // end of the cooldown when To is Open
}

// KeyHealth is a key's state as the admin API shows it.
type KeyHealth struct {
	Ref         KeyRef    `json:"-"`
	Key         string    `json:"key"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Failures    int       `json:"recent_failures"`
	Until       time.Time `json:"retry_at,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

type breaker struct {
	state       State
	failures    []time.Time // transient failures within the window
	until       time.Time   // Open: end of cooldown
	level       int         // how many times it opened in a row
	probing     bool        // HalfOpen: the probe is out
	reason      string
	lastFailure time.Time
	lastSuccess time.Time
}

// Health keeps the breaker of every channel key. Keys never seen are
// closed. It is safe for concurrent use; the request path takes one mutex
// per attempt, no I/O.
type Health struct {
	mu       sync.Mutex
	keys     map[KeyRef]*breaker
	opts     BreakerOptions
	now      func() time.Time
	onChange func(Change)
}

// NewHealth returns an empty registry. onChange, if set, is called (without
// the lock held) on every state transition.
func NewHealth(o BreakerOptions, now func() time.Time, onChange func(Change)) *Health {
	o.defaults()
	if now == nil {
		now = time.Now
	}
	return &Health{keys: map[KeyRef]*breaker{}, opts: o, now: now, onChange: onChange}
}

// Available reports whether a key may be chosen now, without claiming a
// probe: closed keys, and open ones whose cooldown is over and whose probe
// is not yet out.
func (h *Health) Available(ref KeyRef) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.keys[ref]
	if b == nil {
		return true
	}
	switch b.state {
	case Closed:
		return true
	case Open:
		return !h.now().Before(b.until)
	case HalfOpen:
		return !b.probing
	}
	return false
}

// Acquire claims a key for one attempt. A key whose cooldown is over moves
// to half-open and only the first caller gets it (the probe).
func (h *Health) Acquire(ref KeyRef) bool {
	h.mu.Lock()
	b := h.keys[ref]
	if b == nil || b.state == Closed {
		h.mu.Unlock()
		return true
	}
	var ch *Change
	ok := false
	switch b.state {
	case Open:
		if !h.now().Before(b.until) {
			ch = &Change{Ref: ref, From: Open, To: HalfOpen, Reason: "cooldown over: probing"}
			b.state, b.probing, ok = HalfOpen, true, true
		}
	case HalfOpen:
		if !b.probing {
			b.probing, ok = true, true
		}
	}
	h.mu.Unlock()
	h.report(ch)
	return ok
}

// Success records a good answer: the key closes and its history clears.
func (h *Health) Success(ref KeyRef) {
	h.mu.Lock()
	b := h.keys[ref]
	if b == nil {
		h.mu.Unlock()
		return
	}
	b.lastSuccess = h.now()
	var ch *Change
	if b.state != Closed {
		ch = &Change{Ref: ref, From: b.state, To: Closed, Reason: "a request succeeded"}
	}
	b.state, b.failures, b.level, b.probing, b.reason = Closed, b.failures[:0], 0, false, ""
	h.mu.Unlock()
	h.report(ch)
}

// Release returns a claimed probe that was not used (the attempt never
// reached the upstream, e.g. a limit refused it).
func (h *Health) Release(ref KeyRef) {
	h.mu.Lock()
	if b := h.keys[ref]; b != nil && b.state == HalfOpen {
		b.probing = false
	}
	h.mu.Unlock()
}

// Fail records a failed attempt. retryAfter is the upstream's Retry-After
// (0 when it gave none).
func (h *Health) Fail(ref KeyRef, kind Failure, reason string, retryAfter time.Duration) {
	h.mu.Lock()
	b := h.keys[ref]
	if b == nil {
		b = &breaker{}
		h.keys[ref] = b
	}
	now := h.now()
	b.lastFailure = now
	from := b.state
	var ch *Change
	switch {
	case kind == Fatal:
		b.state, b.probing, b.reason = Disabled, false, reason
		ch = &Change{Ref: ref, From: from, To: Disabled, Reason: reason}
	case kind == Throttled && retryAfter > 0:
		if from != Disabled {
			b.state, b.probing, b.until, b.reason = Open, false, now.Add(min(retryAfter, h.opts.MaxCooldown)), reason
			ch = &Change{Ref: ref, From: from, To: Open, Reason: reason, Until: b.until}
		}
	case from == HalfOpen:
		// The probe failed: open again, for longer.
		b.level++
		b.state, b.probing, b.until, b.reason = Open, false, now.Add(h.cooldown(b.level)), reason
		ch = &Change{Ref: ref, From: from, To: Open, Reason: "probe failed: " + reason, Until: b.until}
	case from == Closed:
		cut := now.Add(-h.opts.Window)
		kept := b.failures[:0]
		for _, t := range b.failures {
			if t.After(cut) {
				kept = append(kept, t)
			}
		}
		b.failures = append(kept, now)
		if len(b.failures) >= h.opts.Failures {
			b.state, b.until, b.reason, b.failures = Open, now.Add(h.cooldown(b.level)), reason, b.failures[:0]
			ch = &Change{Ref: ref, From: from, To: Open, Reason: reason, Until: b.until}
		}
	}
	h.mu.Unlock()
	h.report(ch)
}

// cooldown doubles with each consecutive opening, up to MaxCooldown.
func (h *Health) cooldown(level int) time.Duration {
	d := h.opts.Cooldown
	for range min(level, 20) {
		d *= 2
		if d >= h.opts.MaxCooldown {
			return h.opts.MaxCooldown
		}
	}
	return d
}

// Enable puts a key back into rotation (an operator's decision).
func (h *Health) Enable(ref KeyRef) {
	h.mu.Lock()
	b := h.keys[ref]
	var ch *Change
	if b != nil {
		if b.state != Closed {
			ch = &Change{Ref: ref, From: b.state, To: Closed, Reason: "enabled by an operator"}
		}
		delete(h.keys, ref)
	}
	h.mu.Unlock()
	h.report(ch)
}

// State returns a key's current state.
func (h *Health) State(ref KeyRef) State {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b := h.keys[ref]; b != nil {
		return b.state
	}
	return Closed
}

// Channel lists the health of a channel's keys, in the order of keyIDs.
func (h *Health) Channel(channel int64, keyIDs []string) []KeyHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]KeyHealth, 0, len(keyIDs))
	cut := h.now().Add(-h.opts.Window)
	for _, id := range keyIDs {
		ref := KeyRef{channel, id}
		kh := KeyHealth{Ref: ref, Key: id, State: Closed.String()}
		if b := h.keys[ref]; b != nil {
			kh.State, kh.Reason, kh.LastFailure, kh.LastSuccess = b.state.String(), b.reason, b.lastFailure, b.lastSuccess
			if b.state == Open {
				kh.Until = b.until
			}
			for _, t := range b.failures {
				if t.After(cut) {
					kh.Failures++
				}
			}
		}
		out = append(out, kh)
	}
	return out
}

// Unhealthy lists the keys that are not closed, for the scheduled channel
// tests.
func (h *Health) Unhealthy() []KeyRef {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []KeyRef
	for ref, b := range h.keys {
		if b.state != Closed {
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Channel < out[j].Channel || out[i].Channel == out[j].Channel && out[i].Key < out[j].Key
	})
	return out
}

func (h *Health) report(ch *Change) {
	if ch != nil && h.onChange != nil {
		h.onChange(*ch)
	}
}
