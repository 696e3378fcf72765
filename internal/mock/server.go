package mock

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Latency delays the first byte of every model response.
	Latency time.Duration
	// Chunks is the number of words in a text reply, and so the number of
	// content events in a streamed one (one word, one token, per event).
	// Zero or less means 8.
	Chunks int
	// ChunkDelay is the pause before each content event of a stream.
	ChunkDelay time.Duration
	// Keys, if non-empty, lists the only upstream API keys accepted; otherwise
	// any non-empty key is. A missing or unknown key gets a 401 in the
	// protocol's error shape.
	Keys []string
	// Now is the clock for `created` timestamps; nil means time.Now.
	Now func() time.Time
	// VideoSteps is the number of GETs a video task (Sora or Seedance) takes
	// to finish: GET k < VideoSteps reports it in progress with progress
	// 100·k/VideoSteps, GET VideoSteps completes (or fails) it. Zero means 2
	// (queued → in_progress 50 → completed 100); a negative value keeps
	// every task queued. The clock never moves a task.
	VideoSteps int
}

// defaultChunks is the reply length when Options.Chunks is not set.
const defaultChunks = 8

// maxBody bounds a request body, as the real APIs do (Anthropic: 32 MB).
const maxBody = 32 << 20

// Server is the mock upstream. It is an http.Handler and safe for concurrent
// use.
type Server struct {
	opts Options
	keys map[string]bool
	text string        // the reply of Options.Chunks words, built once
	seq  atomic.Uint64 // numbers responses, so ids are deterministic

	faults faultTable
	stats  statsTable
	tasks  taskTable // video tasks
}

// New returns a Server with the given options.
func New(opts Options) *Server {
	if opts.Chunks <= 0 {
		opts.Chunks = defaultChunks
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, text: replyText(opts.Chunks)}
	if len(opts.Keys) > 0 {
		s.keys = make(map[string]bool, len(opts.Keys))
		for _, k := range opts.Keys {
			s.keys[k] = true
		}
	}
	s.faults.init()
	s.stats.init()
	s.tasks.init()
	return s
}

// SetFault installs f for requests made with the upstream key apiKey, or for
// every key without a fault of its own when apiKey is "". The zero Fault
// clears it.
func (s *Server) SetFault(apiKey string, f Fault) { s.faults.set(apiKey, f) }

// Stats returns the counters of requests made with apiKey, or the totals over
// all keys when apiKey is "".
func (s *Server) Stats(apiKey string) Stats { return s.stats.get(apiKey) }

// Reset clears every fault, counter and video task. Task numbers go on
// from where they were, so an id is never reused.
func (s *Server) Reset() {
	s.faults.reset()
	s.stats.reset()
	s.tasks.reset()
}

// exchange is one request and what became of it. The deferred record in
// ServeHTTP turns it into statistics, also when a cut fault panics.
type exchange struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	d     *dialect
	key   string
	seq   uint64
	fault Fault

	status    int
	stream    bool
	cut       bool
	gone      bool
	faulted   bool
	completed bool // the full usage reached the client
	usage     usage
}

// handler serves one route. arg is the path parameter, if any; body is the
// request body (empty for GET).
type handler func(x *exchange, arg, body string)

// routeMatch is a resolved request: what serves it and in which dialect.
type routeMatch struct {
	d      *dialect
	method string
	h      handler
	arg    string // the model id in the path, if any
}

// ServeHTTP answers the model APIs and, under /_mock/, the control surface.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_mock/") {
		s.serveControl(w, r)
		return
	}
	rt, ok := routeFor(r)
	x := &exchange{s: s, w: w, r: r, d: rt.d, seq: s.seq.Add(1)}
	x.key = rt.d.key(r)
	defer s.stats.record(x)
	w.Header().Set(rt.d.requestIDHeader, x.requestID())

	switch {
	case !ok:
		x.fail(http.StatusNotFound, "Unknown request URL: "+r.Method+" "+r.URL.Path+".")
		return
	case r.Method != rt.method:
		x.fail(http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed for "+r.URL.Path+".")
		return
	case !s.keyOK(x.key):
		x.fail(http.StatusUnauthorized, rt.d.authMessage)
		return
	}
	if rt.d.check != nil {
		if msg := rt.d.check(r); msg != "" {
			x.fail(http.StatusBadRequest, msg)
			return
		}
	}
	var body string
	if r.Method == http.MethodPost {
		var status int
		if body, status = readBody(r); status != 0 {
			x.fail(status, "The request body could not be read.")
			return
		}
	}
	rt.h(x, rt.arg, body)
}

func (s *Server) keyOK(key string) bool {
	if key == "" {
		return false
	}
	return s.keys == nil || s.keys[key]
}

// routeFor maps a request to its handler. Paths are fixed strings except for a
// model id suffix, so a switch beats a pattern mux here.
func routeFor(r *http.Request) (routeMatch, bool) {
	p := r.URL.Path
	switch p {
	case "/v1/chat/completions":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleChat}, true
	case "/api/v3/chat/completions":
		return routeMatch{d: &arkDialect, method: http.MethodPost, h: handleArkChat}, true
	case "/v1/responses":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleResponses}, true
	case "/v1/embeddings":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleEmbeddings}, true
	case "/v1/images/generations":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleImageGenerations}, true
	case "/v1/images/edits":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleImageEdits}, true
	case "/api/v3/images/generations":
		return routeMatch{d: &arkDialect, method: http.MethodPost, h: handleSeedream}, true
	case "/v1/videos":
		return routeMatch{d: &openaiDialect, method: http.MethodPost, h: handleVideoCreate}, true
	case "/api/v3/contents/generations/tasks":
		return routeMatch{d: &arkDialect, method: http.MethodPost, h: handleSeedanceCreate}, true
	case "/v1/messages":
		return routeMatch{d: &anthropicDialect, method: http.MethodPost, h: handleMessages}, true
	case "/v1/messages/count_tokens":
		return routeMatch{d: &anthropicDialect, method: http.MethodPost, h: handleCountTokens}, true
	case "/v1/models":
		if isAnthropic(r) {
			return routeMatch{d: &anthropicDialect, method: http.MethodGet, h: handleAnthropicModels}, true
		}
		return routeMatch{d: &openaiDialect, method: http.MethodGet, h: handleOpenAIModels}, true
	case "/v1beta/models":
		return routeMatch{d: &geminiDialect, method: http.MethodGet, h: handleGeminiModels}, true
	}
	if rest, ok := strings.CutPrefix(p, "/v1/videos/"); ok && rest != "" {
		return videoRoute(r, rest)
	}
	if id, ok := strings.CutPrefix(p, "/api/v3/contents/generations/tasks/"); ok && id != "" {
		return seedanceRoute(r, id)
	}
	if id, ok := strings.CutPrefix(p, "/v1beta/models/"); ok && id != "" {
		rt := geminiRoute(id)
		return rt, rt.h != nil
	}
	if id, ok := strings.CutPrefix(p, "/v1/models/"); ok && id != "" {
		switch {
		case strings.Contains(id, ":"):
			rt := geminiRoute(id)
			return rt, rt.h != nil
		case isAnthropic(r):
			return routeMatch{d: &anthropicDialect, method: http.MethodGet, h: handleAnthropicModels, arg: id}, true
		}
		return routeMatch{d: &openaiDialect, method: http.MethodGet, h: handleOpenAIModels, arg: id}, true
	}
	return routeMatch{d: &openaiDialect}, false
}

// isAnthropic tells Anthropic's GET /v1/models from OpenAI's: the Anthropic
// SDKs always send anthropic-version, and usually x-api-key.
func isAnthropic(r *http.Request) bool {
	return r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != ""
}

func (x *exchange) now() time.Time { return x.s.opts.Now() }

// requestID is deterministic: it depends only on the order of requests.
func (x *exchange) requestID() string { return "req_mock_" + strconv.FormatUint(x.seq, 10) }

// fail writes an error response in the dialect's shape.
func (x *exchange) fail(status int, msg string) {
	x.status = status
	b := getBuf()
	b = x.d.errorBody(b, status, msg, x.requestID(), 0)
	x.writeJSON(status, b)
	putBuf(b)
}

// writeJSON sends a complete JSON response.
func (x *exchange) writeJSON(status int, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.status = status
	x.w.WriteHeader(status)
	if _, err := x.w.Write(body); err != nil {
		x.gone = true
	}
}

// ok sends a successful JSON response carrying u.
func (x *exchange) ok(body []byte, u usage) {
	x.usage = u
	x.writeJSON(http.StatusOK, body)
	x.completed = !x.gone
}

// badRequest answers a request the mock could not make sense of.
func (x *exchange) badRequest(msg string) { x.fail(http.StatusBadRequest, msg) }

// begin applies the request's fault, its directives and the configured
// latency before the first byte. It reports false when the response has
// already been written (an injected error) or the client went away.
func (x *exchange) begin(d directives) bool {
	f, faulted := x.s.faults.take(x.key)
	f, faulted = d.apply(f, faulted)
	x.fault, x.faulted = f, faulted
	if !x.sleep(x.s.opts.Latency + f.FirstByteDelay) {
		return false
	}
	if f.Status >= 400 {
		x.injectError(f)
		return false
	}
	return true
}

// injectError answers with the fault's status in the dialect's error shape.
func (x *exchange) injectError(f Fault) {
	h := x.w.Header()
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		h.Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
	}
	x.status = f.Status
	b := getBuf()
	b = x.d.errorBody(b, f.Status, faultMessage(f.Status), x.requestID(), f.RetryAfter)
	x.writeJSON(f.Status, b)
	putBuf(b)
}

// sleep waits d unless the client goes away first.
func (x *exchange) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-x.r.Context().Done():
		x.gone = true
		return false
	}
}

// readBody reads the whole request body. A non-zero status reports a failure.
func readBody(r *http.Request) (string, int) {
	if r.ContentLength > maxBody {
		return "", http.StatusRequestEntityTooLarge
	}
	b := getBuf()
	defer func() { putBuf(b) }()
	lr := io.LimitReader(r.Body, maxBody+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", http.StatusBadRequest
		}
	}
	if len(b) > maxBody {
		return "", http.StatusRequestEntityTooLarge
	}
	return string(b), 0
}

// bufPool recycles response and request buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if b == nil || cap(b) > 1<<20 {
		return
	}
	bufPool.Put(&b)
}
