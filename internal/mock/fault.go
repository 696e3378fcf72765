package mock

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a failure to inject into the responses to one upstream key.
type Fault struct {
	// Status, if 400 or more, answers with this HTTP status and the protocol's
	// error body instead of a reply (e.g. 429, 500, 503, 529).
	Status int
	// RetryAfter, with Status, sets Retry-After (whole seconds, rounded up) and
	// Retry-After-Ms; Gemini also gets a RetryInfo detail.
	RetryAfter time.Duration
	// FirstByteDelay holds the response this long before its first byte, on
	// top of Options.Latency.
	FirstByteDelay time.Duration
	// CutAfter, for streams only, breaks the connection after this many
	// content events (or after the last one, if the reply has fewer): no
	// finish, usage, [DONE] or message_stop event follows.
	CutAfter int
	// Times applies the fault to the next Times requests only; 0 means until
	// it is cleared.
	Times int
}

// faultJSON is Fault on the wire of the control surface. Durations are Go
// duration strings ("1.5s") or numbers of milliseconds.
type faultJSON struct {
	Status         int          `json:"status,omitempty"`
	RetryAfter     jsonDuration `json:"retry_after,omitempty"`
	FirstByteDelay jsonDuration `json:"first_byte_delay,omitempty"`
	CutAfter       int          `json:"cut_after,omitempty"`
	Times          int          `json:"times,omitempty"`
}

// MarshalJSON encodes f for POST /_mock/faults.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Status, jsonDuration(f.RetryAfter), jsonDuration(f.FirstByteDelay), f.CutAfter, f.Times})
}

// UnmarshalJSON decodes the body of POST /_mock/faults.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{j.Status, time.Duration(j.RetryAfter), time.Duration(j.FirstByteDelay), j.CutAfter, j.Times}
	return nil
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		*d = jsonDuration(v)
		return err
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string such as \"1.5s\" or milliseconds", b)
	}
	*d = jsonDuration(ms * float64(time.Millisecond))
	return nil
}

// faultTable holds the installed faults. n counts them so that the common
// case, no fault at all, costs one atomic load and no lock.
type faultTable struct {
	n  atomic.Int64
	mu sync.Mutex
	m  map[string]*Fault
}

func (t *faultTable) init() { t.m = make(map[string]*Fault) }

func (t *faultTable) set(key string, f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f == (Fault{}) {
		delete(t.m, key)
	} else {
		t.m[key] = &f
	}
	t.n.Store(int64(len(t.m)))
}

func (t *faultTable) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
	t.n.Store(0)
}

// take returns the fault for key (its own, else the one for every key) and
// uses up one of its Times.
func (t *faultTable) take(key string) (Fault, bool) {
	if t.n.Load() == 0 {
		return Fault{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key
	f := t.m[k]
	if f == nil {
		k = ""
		f = t.m[k]
	}
	if f == nil {
		return Fault{}, false
	}
	got := *f
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			delete(t.m, k)
			t.n.Store(int64(len(t.m)))
		}
	}
	return got, true
}

// directives are the [[mock:...]] instructions found in the last user
// message; they let a test steer the mock through a gateway that forwards no
// client headers.
type directives struct {
	status int
	cut    int
	delay  time.Duration
	tool   bool
	// fail makes a video task end failed instead of succeeded; not a fault.
	fail bool
	// cacheRead and cacheWrite are the prompt tokens to report as read from
	// and written to the prompt cache ([[mock:cache=R,W]]); not a fault.
	cacheRead, cacheWrite int
}

// parseDirectives reads every [[mock:name=value]] in s. Unknown names and bad
// values are ignored: the text is still the user's prompt.
func parseDirectives(s string) directives {
	var d directives
	for {
		i := strings.Index(s, "[[mock:")
		if i < 0 {
			return d
		}
		s = s[i+len("[[mock:"):]
		j := strings.Index(s, "]]")
		if j < 0 {
			return d
		}
		name, value, _ := strings.Cut(s[:j], "=")
		s = s[j+2:]
		switch strings.TrimSpace(name) {
		case "status":
			if n, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && n >= 400 && n <= 599 {
				d.status = n
			}
		case "cut":
			if n, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && n > 0 {
				d.cut = n
			}
		case "delay":
			if v, err := time.ParseDuration(strings.TrimSpace(value)); err == nil && v > 0 {
				d.delay = v
			}
		case "tool":
			d.tool = true
		case "fail":
			d.fail = true
		case "cache":
			if r, w, ok := parseCache(value); ok {
				d.cacheRead, d.cacheWrite = r, w
			}
		}
	}
}

// parseCache reads the value of [[mock:cache=R,W]]: two non-negative
// integers, or one (R, with W 0).
func parseCache(value string) (r, w int, ok bool) {
	rs, ws, hasW := strings.Cut(value, ",")
	r, err := strconv.Atoi(strings.TrimSpace(rs))
	if err != nil || r < 0 {
		return 0, 0, false
	}
	if hasW {
		if w, err = strconv.Atoi(strings.TrimSpace(ws)); err != nil || w < 0 {
			return 0, 0, false
		}
	}
	return r, w, true
}

// apply lays the directives over the key's fault.
func (d directives) apply(f Fault, faulted bool) (Fault, bool) {
	if d.status != 0 {
		f.Status, faulted = d.status, true
	}
	if d.cut != 0 {
		f.CutAfter, faulted = d.cut, true
	}
	if d.delay != 0 {
		f.FirstByteDelay, faulted = d.delay, true
	}
	return f, faulted
}

// Stats are the counters for one upstream key, or for all of them.
type Stats struct {
	Requests   int64         `json:"requests"`    // model API requests, whatever their outcome
	ByStatus   map[int]int64 `json:"by_status"`   // requests by HTTP status (200 for every stream that started)
	Streams    int64         `json:"streams"`     // streamed responses started
	StreamsCut int64         `json:"streams_cut"` // streams broken by a CutAfter fault
	ClientGone int64         `json:"client_gone"` // responses the client abandoned before the end
	Faults     int64         `json:"faults"`      // requests a fault or directive was applied to
	// PromptTokens and CompletionTokens total the usage of the responses whose
	// usage reached the client (complete non-stream replies and streams that
	// got to their final usage event).
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

func (s *Stats) add(o *Stats) {
	s.Requests += o.Requests
	s.Streams += o.Streams
	s.StreamsCut += o.StreamsCut
	s.ClientGone += o.ClientGone
	s.Faults += o.Faults
	s.PromptTokens += o.PromptTokens
	s.CompletionTokens += o.CompletionTokens
	for k, v := range o.ByStatus {
		s.ByStatus[k] += v
	}
}

// statsTable keeps Stats per key. Each key has its own lock, so concurrent
// load on different keys does not contend; the map lock is read-mostly.
type statsTable struct {
	mu sync.RWMutex
	m  map[string]*keyStats
}

type keyStats struct {
	mu sync.Mutex
	s  Stats
}

func (t *statsTable) init() { t.m = make(map[string]*keyStats) }

func (t *statsTable) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
}

func (t *statsTable) entry(key string) *keyStats {
	t.mu.RLock()
	e := t.m[key]
	t.mu.RUnlock()
	if e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e = t.m[key]; e == nil {
		e = &keyStats{s: Stats{ByStatus: make(map[int]int64)}}
		t.m[key] = e
	}
	return e
}

// record accounts for a finished exchange. It runs deferred, so it sees the
// exchanges that a cut fault ended with a panic too.
func (t *statsTable) record(x *exchange) {
	e := t.entry(x.key)
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.s
	s.Requests++
	if x.status != 0 {
		s.ByStatus[x.status]++
	}
	if x.stream {
		s.Streams++
	}
	if x.cut {
		s.StreamsCut++
	}
	if x.gone && !x.cut {
		s.ClientGone++
	}
	if x.faulted {
		s.Faults++
	}
	if x.completed {
		s.PromptTokens += int64(x.usage.prompt)
		s.CompletionTokens += int64(x.usage.completion())
	}
}

func (t *statsTable) get(key string) Stats {
	out := Stats{ByStatus: make(map[int]int64)}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for k, e := range t.m {
		if key != "" && k != key {
			continue
		}
		e.mu.Lock()
		out.add(&e.s)
		e.mu.Unlock()
	}
	return out
}
