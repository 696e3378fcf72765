package mock

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// Video tasks (see doc.go, Videos): OpenAI's Sora jobs under /v1/videos and
// Ark's Seedance content generation tasks under
// /api/v3/contents/generations/tasks. A task advances one step per GET of it,
// never with the clock, so tests poll without waiting.

// mp4Video is the only video the mock returns: 64 bytes that sniff as
// video/mp4, an ftyp box (major brand mp42, compatible mp42 and isom)
// followed by an empty-looking mdat box.
var mp4Video = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" +
	"\x00\x00\x00\x28mdat" + strings.Repeat("\x00", 32))

// webpImage is the thumbnail and spritesheet of every Sora video: a 1×1
// lossless WebP of 34 bytes.
var webpImage = []byte{
	'R', 'I', 'F', 'F', 0x1a, 0x00, 0x00, 0x00, 'W', 'E', 'B', 'P',
	'V', 'P', '8', 'L', 0x0d, 0x00, 0x00, 0x00,
	0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00,
}

const (
	defaultVideoSteps = 2
	// maxTasks bounds the tasks kept: beyond it the oldest are forgotten.
	maxTasks = 1 << 16
	// pollAfterMs is sent as openai-poll-after-ms so openai-go's PollStatus
	// polls every 10 ms instead of every second.
	pollAfterMs = "10"
	// soraExpiry is how long after completion a Sora video's assets expire.
	soraExpiry = 3600
	// seedanceTokensPerSecond prices a Seedance video (1080p: 5 s = 108900).
	seedanceTokensPerSecond = 21780
	seedanceFPS             = 24
	seedanceExpiresAfter    = 172800
	maxSeedanceDuration     = 60
	maxSeed                 = 1<<32 - 1
	// mockSeed is the seed reported when the request leaves it random.
	mockSeed = 42
)

// Sora's request defaults and accepted durations (§5).
const (
	defaultSoraModel   = "sora-2"
	defaultSoraSeconds = "4"
	defaultSoraSize    = "720x1280"
)

// Seedance's defaults (§9.3).
const (
	defaultSeedanceResolution = "720p"
	defaultSeedanceRatio      = "16:9"
	defaultSeedanceDuration   = 5
)

type taskKind uint8

const (
	soraTask taskKind = iota
	arkTask
)

// taskPhase is where a task is; each protocol names the phases its own way.
type taskPhase uint8

const (
	phaseQueued taskPhase = iota
	phaseRunning
	phaseSucceeded
	phaseFailed
	phaseCancelled
)

func (p taskPhase) done() bool { return p >= phaseSucceeded }

// soraStatus and arkStatus name the phases on the wire.
var (
	soraStatus = [...]string{"queued", "in_progress", "completed", "failed", "failed"}
	arkStatus  = [...]string{"queued", "running", "succeeded", "failed", "cancelled"}
)

// videoTask is one video job and what the client asked for.
type videoTask struct {
	kind   taskKind
	n      uint64 // the number in the id and in the file name
	id     string
	key    string // the upstream key that created it; no other key sees it
	model  string
	prompt string // Sora: the prompt; Ark: the text items, for directives
	fail   bool   // [[mock:fail]]: end failed instead of succeeded

	// Sora.
	seconds, size string

	// Ark.
	resolution, ratio string
	duration          int
	seed              int64
	lastFrame         bool
	audio             string // generate_audio as given: "", "true" or "false"

	phase     taskPhase
	polls     int // GETs that advanced it
	progress  int
	created   int64
	updated   int64
	completed int64 // when it finished; 0 before
	billed    bool  // its usage was counted in Stats
}

// tasks holds the video tasks of a Server.
type taskTable struct {
	mu    sync.Mutex
	seq   uint64 // numbers tasks; survives Reset so that ids are never reused
	m     map[string]*videoTask
	order []string // ids by creation, to forget the oldest beyond maxTasks
}

func (t *taskTable) init() { t.m = make(map[string]*videoTask) }

func (t *taskTable) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
	t.order = nil
}

// add numbers vt, names it with prefix and stores it.
func (t *taskTable) add(vt *videoTask, prefix string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	vt.n = t.seq
	vt.id = prefix + strconv.FormatUint(vt.n, 10)
	t.m[vt.id] = vt
	t.order = append(t.order, vt.id)
	if len(t.order) > maxTasks {
		delete(t.m, t.order[0])
		t.order[0] = ""
		t.order = t.order[1:]
	}
}

// lookup finds a task of kind created with key; the caller holds mu.
func (t *taskTable) lookup(key, id string, kind taskKind) *videoTask {
	vt := t.m[id]
	if vt == nil || vt.key != key || vt.kind != kind {
		return nil
	}
	return vt
}

// get returns a copy of a task.
func (t *taskTable) get(key, id string, kind taskKind) (videoTask, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	vt := t.lookup(key, id, kind)
	if vt == nil {
		return videoTask{}, false
	}
	return *vt, true
}

// poll advances a task one step and returns a copy of it. bill reports that
// this poll is the first to see it succeed with usage to count; if that
// response does not reach the client, unbill hands the usage back.
func (t *taskTable) poll(key, id string, kind taskKind, steps int, now int64) (vt videoTask, bill, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.lookup(key, id, kind)
	if p == nil {
		return videoTask{}, false, false
	}
	p.advance(steps, now)
	if p.phase == phaseSucceeded && p.kind == arkTask && !p.billed {
		p.billed, bill = true, true
	}
	return *p, bill, true
}

func (t *taskTable) unbill(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if vt := t.m[id]; vt != nil {
		vt.billed = false
	}
}

// remove deletes a task if allow says so; found reports whether it exists.
func (t *taskTable) remove(key, id string, kind taskKind, allow func(*videoTask) bool) (vt videoTask, found, removed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.lookup(key, id, kind)
	if p == nil {
		return videoTask{}, false, false
	}
	if !allow(p) {
		return *p, true, false
	}
	delete(t.m, id)
	return *p, true, true
}

// cancel moves a queued task to cancelled, or deletes a finished one, as
// Ark's DELETE does. It reports the task as it was.
func (t *taskTable) cancel(key, id string, now int64) (vt videoTask, found bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.lookup(key, id, arkTask)
	if p == nil {
		return videoTask{}, false
	}
	vt = *p
	switch {
	case p.phase == phaseQueued:
		p.phase, p.updated, p.completed = phaseCancelled, now, now
	case p.phase.done():
		delete(t.m, id)
	}
	return vt, true
}

// advance moves a task one step along its progression (see doc.go, Videos):
// with steps n ≥ 1, poll k < n reports it running with progress 100·k/n and
// poll n finishes it; steps < 0 keeps it queued.
func (vt *videoTask) advance(steps int, now int64) {
	if vt.phase.done() || steps < 0 {
		return
	}
	vt.polls++
	vt.updated = now
	if vt.polls < steps {
		vt.phase, vt.progress = phaseRunning, 100*vt.polls/steps
		return
	}
	vt.phase, vt.progress, vt.completed = phaseSucceeded, 100, now
	if vt.fail {
		vt.phase = phaseFailed
	}
}

func (s *Server) videoSteps() int {
	if s.opts.VideoSteps == 0 {
		return defaultVideoSteps
	}
	return s.opts.VideoSteps
}

// baseURL is the scheme and host the request came to.
func (x *exchange) baseURL() string {
	if x.r.TLS != nil {
		return "https://" + x.r.Host
	}
	return "http://" + x.r.Host
}

// writeFile sends a binary response.
func (x *exchange) writeFile(contentType string, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	if _, err := x.w.Write(body); err != nil {
		x.gone = true
	}
	x.completed = !x.gone
}

// ---- OpenAI Sora (§5) ----

// soraRequest is POST /v1/videos.
type soraRequest struct {
	prompt, model, seconds, size string
}

// setSeconds reads seconds, a string (or, in JSON, a number) of 4, 8 or 12.
func (sr *soraRequest) setSeconds(s string) string {
	switch s {
	case "4", "8", "12":
		sr.seconds = s
		return ""
	}
	return "Invalid value for 'seconds': expected one of '4', '8' or '12'."
}

func (sr *soraRequest) check() string {
	if sr.prompt == "" {
		return "Missing required parameter: 'prompt'."
	}
	if sr.model == "" {
		sr.model = defaultSoraModel
	}
	if sr.seconds == "" {
		sr.seconds = defaultSoraSeconds
	}
	if sr.size == "" {
		sr.size = defaultSoraSize
	} else if !validSize(sr.size) {
		return "Invalid value for 'size': expected WIDTHxHEIGHT, e.g. '720x1280'."
	}
	return ""
}

// validSize accepts WxH with positive integers.
func validSize(s string) bool {
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return false
	}
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	return err1 == nil && err2 == nil && wi > 0 && hi > 0
}

// parseSora reads POST /v1/videos: multipart/form-data as the SDKs send it,
// or JSON.
func parseSora(r *http.Request, body string) (soraRequest, string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "multipart/form-data" && params["boundary"] != "" {
		return parseSoraMultipart(body, params["boundary"])
	}
	return parseSoraJSON(body)
}

func parseSoraJSON(body string) (soraRequest, string) {
	var sr soraRequest
	if !validJSON(body) {
		return sr, badJSON
	}
	var msg string
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt":
			sr.prompt = v.Str
		case "model":
			sr.model = v.Str
		case "size":
			sr.size = v.Str
		case "seconds":
			switch v.Type {
			case gjson.String:
				msg = sr.setSeconds(v.Str)
			case gjson.Null:
			default: // a number, as gateways may send it
				msg = sr.setSeconds(v.Raw)
			}
		case "input_reference":
			if v.Type != gjson.Null && v.Get("image_url").Type != gjson.String && v.Get("file_id").Type != gjson.String {
				msg = "Invalid value for 'input_reference': expected a file, or an object with 'image_url' or 'file_id'."
			}
		}
		return msg == ""
	})
	if msg != "" {
		return sr, msg
	}
	return sr, sr.check()
}

func parseSoraMultipart(body, boundary string) (soraRequest, string) {
	var sr soraRequest
	const unparsable = "The multipart/form-data body could not be parsed."
	mr := multipart.NewReader(strings.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sr, unparsable
		}
		name := p.FormName()
		if name == "input_reference" {
			if msg := sniffImage(p, name); msg != "" {
				return sr, msg
			}
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return sr, unparsable
		}
		switch name {
		case "prompt":
			sr.prompt = string(v)
		case "model":
			sr.model = string(v)
		case "size":
			sr.size = string(v)
		case "seconds":
			if msg := sr.setSeconds(strings.TrimSpace(string(v))); msg != "" {
				return sr, msg
			}
		}
		// input_reference[image_url] and input_reference[file_id] (the
		// object form, as npm sends it) need no checking.
	}
	return sr, sr.check()
}

func handleVideoCreate(x *exchange, _, body string) {
	sr, msg := parseSora(x.r, body)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(sr.prompt)
	if !x.begin(d) {
		return
	}
	now := x.now().Unix()
	vt := &videoTask{kind: soraTask, key: x.key, model: sr.model, prompt: sr.prompt, fail: d.fail,
		seconds: sr.seconds, size: sr.size, created: now, updated: now}
	x.s.tasks.add(vt, "video_")
	x.soraReply(vt)
}

// soraReply answers with the VideoResource of a task.
func (x *exchange) soraReply(vt *videoTask) {
	x.w.Header().Set("openai-poll-after-ms", pollAfterMs)
	b := getBuf()
	b = appendSora(b, vt)
	x.ok(b, usage{})
	putBuf(b)
}

func appendSora(b []byte, vt *videoTask) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, vt.id)
	b = append(b, `,"object":"video","model":`...)
	b = appendString(b, vt.model)
	b = appendField(b, "status", soraStatus[vt.phase])
	b = appendIntField(b, "progress", vt.progress)
	b = appendIntField(b, "created_at", int(vt.created))
	b = appendField(b, "size", vt.size)
	b = appendField(b, "seconds", vt.seconds)
	b = appendField(b, "prompt", vt.prompt)
	switch vt.phase {
	case phaseSucceeded:
		b = appendIntField(b, "completed_at", int(vt.completed))
		b = appendIntField(b, "expires_at", int(vt.completed)+soraExpiry)
		b = append(b, `,"error":null`...)
	case phaseFailed:
		b = appendIntField(b, "completed_at", int(vt.completed))
		b = append(b, `,"expires_at":null,"error":{"code":"moderation_blocked","message":"Your request was blocked by our moderation system. (mock failure)"}`...)
	default:
		b = append(b, `,"completed_at":null,"expires_at":null,"error":null`...)
	}
	return append(b, `,"remixed_from_video_id":null}`...)
}

func (x *exchange) videoNotFound(id string) {
	x.fail(http.StatusNotFound, "Video with id '"+id+"' not found.")
}

func handleVideoGet(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	vt, _, ok := x.s.tasks.poll(x.key, id, soraTask, x.s.videoSteps(), x.now().Unix())
	if !ok {
		x.videoNotFound(id)
		return
	}
	x.soraReply(&vt)
}

func handleVideoContent(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	vt, ok := x.s.tasks.get(x.key, id, soraTask)
	if !ok {
		x.videoNotFound(id)
		return
	}
	var ct string
	var file []byte
	switch variant := x.r.URL.Query().Get("variant"); variant {
	case "", "video":
		ct, file = "video/mp4", mp4Video
	case "thumbnail", "spritesheet":
		ct, file = "image/webp", webpImage
	default:
		x.badRequest("Invalid value for 'variant': expected 'video', 'thumbnail' or 'spritesheet'.")
		return
	}
	if vt.phase != phaseSucceeded {
		x.fail(http.StatusNotFound, "Video '"+id+"' has no content: its status is "+soraStatus[vt.phase]+", not completed.")
		return
	}
	x.writeFile(ct, file)
}

func handleVideoDelete(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	vt, found, removed := x.s.tasks.remove(x.key, id, soraTask, func(vt *videoTask) bool { return vt.phase.done() })
	switch {
	case !found:
		x.videoNotFound(id)
	case !removed:
		x.badRequest("Video '" + id + "' cannot be deleted while it is " + soraStatus[vt.phase] + ".")
	default:
		b := getBuf()
		b = append(b, `{"id":`...)
		b = appendString(b, id)
		b = append(b, `,"object":"video.deleted","deleted":true}`...)
		x.ok(b, usage{})
		putBuf(b)
	}
}

// ---- Ark Seedance (§9.3) ----

// seedanceRequest is POST /api/v3/contents/generations/tasks.
type seedanceRequest struct {
	model, text       string
	resolution, ratio string
	duration          int
	seed              int64
	lastFrame         bool
	audio             string
}

// seedanceContent checks the content array and returns its text items,
// joined by newlines.
func seedanceContent(v gjson.Result) (string, string) {
	if !v.IsArray() {
		return "", arkInvalid("content")
	}
	var text strings.Builder
	items := 0
	var msg string
	v.ForEach(func(i, item gjson.Result) bool {
		items++
		param := "content[" + strconv.Itoa(int(i.Int())) + "]"
		typ := item.Get("type").Str
		switch typ {
		case "text":
			t := item.Get("text")
			if t.Type != gjson.String {
				msg = arkInvalid(param + ".text")
				break
			}
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(t.Str)
		case "image_url", "video_url", "audio_url":
			if u := item.Get(typ + ".url"); u.Type != gjson.String || u.Str == "" {
				msg = arkInvalid(param + "." + typ + ".url")
			} else if r := item.Get("role"); r.Exists() && r.Type != gjson.String && r.Type != gjson.Null {
				msg = arkInvalid(param + ".role")
			}
		case "draft_task":
			if id := item.Get("draft_task.id"); id.Type != gjson.String || id.Str == "" {
				msg = arkInvalid(param + ".draft_task.id")
			}
		default:
			msg = arkInvalid(param + ".type")
		}
		return msg == ""
	})
	if msg == "" && items == 0 {
		msg = arkMissing("content")
	}
	return text.String(), msg
}

// seedanceCommands applies the text commands of the older form (--rs 1080p
// --rt 16:9 --dur 5 --seed 7) to what the top-level fields left unset.
// Commands with a bad value are ignored.
func (sr *seedanceRequest) seedanceCommands(set map[string]bool) {
	f := strings.Fields(sr.text)
	for i := 0; i+1 < len(f); i++ {
		v := f[i+1]
		switch f[i] {
		case "--resolution", "--rs":
			if !set["resolution"] {
				sr.resolution = v
			}
		case "--ratio", "--rt":
			if !set["ratio"] {
				sr.ratio = v
			}
		case "--duration", "--dur":
			if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= maxSeedanceDuration && !set["duration"] {
				sr.duration = n
			}
		case "--seed":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= -1 && n <= maxSeed && !set["seed"] {
				sr.seed = n
			}
		}
	}
}

func parseSeedance(body string) (seedanceRequest, string) {
	sr := seedanceRequest{duration: defaultSeedanceDuration, seed: -1}
	if !validJSON(body) {
		return sr, badJSON
	}
	set := make(map[string]bool, 4)
	var content gjson.Result
	var msg string
	intField := func(v gjson.Result, name string, lo, hi int64) int64 {
		n := v.Int()
		if v.Type != gjson.Number || float64(n) != v.Num || n < lo || n > hi {
			msg = arkInvalid(name)
		}
		return n
	}
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model":
			sr.model = v.Str
		case "content":
			content = v
		case "resolution", "ratio", "callback_url", "service_tier":
			if v.Type != gjson.String {
				msg = arkInvalid(k.Str)
			}
			switch k.Str {
			case "resolution":
				sr.resolution, set[k.Str] = v.Str, true
			case "ratio":
				sr.ratio, set[k.Str] = v.Str, true
			}
		case "duration":
			sr.duration, set[k.Str] = int(intField(v, k.Str, 1, maxSeedanceDuration)), true
		case "seed":
			sr.seed, set[k.Str] = intField(v, k.Str, -1, maxSeed), true
		case "watermark", "generate_audio", "return_last_frame", "camera_fixed", "draft":
			if v.Type != gjson.True && v.Type != gjson.False {
				msg = arkInvalid(k.Str)
			}
			switch k.Str {
			case "generate_audio":
				sr.audio = v.Raw
			case "return_last_frame":
				sr.lastFrame = v.Type == gjson.True
			}
		}
		return msg == ""
	})
	switch {
	case msg != "":
		return sr, msg
	case sr.model == "":
		return sr, arkMissing("model")
	case !content.Exists():
		return sr, arkMissing("content")
	}
	if sr.text, msg = seedanceContent(content); msg != "" {
		return sr, msg
	}
	sr.seedanceCommands(set)
	if sr.resolution == "" {
		sr.resolution = defaultSeedanceResolution
	}
	if sr.ratio == "" {
		sr.ratio = defaultSeedanceRatio
	}
	if sr.seed < 0 {
		sr.seed = mockSeed
	}
	return sr, ""
}

func handleSeedanceCreate(x *exchange, _, body string) {
	sr, msg := parseSeedance(body)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(sr.text)
	if !x.begin(d) {
		return
	}
	now := x.now().Unix()
	vt := &videoTask{kind: arkTask, key: x.key, model: sr.model, prompt: sr.text, fail: d.fail,
		resolution: sr.resolution, ratio: sr.ratio, duration: sr.duration, seed: sr.seed,
		lastFrame: sr.lastFrame, audio: sr.audio, created: now, updated: now}
	x.s.tasks.add(vt, "cgt-")
	b := getBuf()
	b = append(b, `{"id":`...)
	b = appendString(b, vt.id)
	b = append(b, '}')
	x.ok(b, usage{})
	putBuf(b)
}

// seedanceTokens is the completion_tokens of a succeeded Seedance task.
func (vt *videoTask) seedanceTokens() int { return vt.duration * seedanceTokensPerSecond }

func (x *exchange) taskNotFound(id string) {
	x.status = http.StatusNotFound
	b := getBuf()
	b = appendArkError(b, "ResourceNotFound", "NotFound", "The specified task `"+id+"` is not found.", x.requestID())
	x.writeJSON(http.StatusNotFound, b)
	putBuf(b)
}

func handleSeedanceGet(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	vt, bill, ok := x.s.tasks.poll(x.key, id, arkTask, x.s.videoSteps(), x.now().Unix())
	if !ok {
		x.taskNotFound(id)
		return
	}
	var u usage
	if bill {
		u.output = vt.seedanceTokens()
	}
	b := getBuf()
	b = x.appendSeedance(b, &vt)
	x.ok(b, u)
	putBuf(b)
	if bill && !x.completed {
		x.s.tasks.unbill(id)
	}
}

func (x *exchange) appendSeedance(b []byte, vt *videoTask) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, vt.id)
	b = appendField(b, "model", vt.model)
	b = appendField(b, "status", arkStatus[vt.phase])
	switch vt.phase {
	case phaseFailed:
		b = append(b, `,"error":{"code":"OutputVideoSensitiveContentDetected","message":"The request failed because the output video may contain sensitive information. (mock failure)"}`...)
	case phaseSucceeded:
		base := x.baseURL()
		n := strconv.FormatUint(vt.n, 10)
		b = append(b, `,"content":{"video_url":`...)
		b = appendString(b, base+"/_mock/files/video-"+n+".mp4")
		if vt.lastFrame {
			b = appendField(b, "last_frame_url", base+"/_mock/files/image-"+n+".png")
		}
		t := vt.seedanceTokens()
		b = append(b, `},"usage":{"completion_tokens":`...)
		b = appendInt(b, t)
		b = appendIntField(b, "total_tokens", t)
		b = append(b, '}')
	}
	b = appendIntField(b, "created_at", int(vt.created))
	b = appendIntField(b, "updated_at", int(vt.updated))
	b = append(b, `,"seed":`...)
	b = strconv.AppendInt(b, vt.seed, 10)
	b = appendField(b, "resolution", vt.resolution)
	b = appendField(b, "ratio", vt.ratio)
	b = appendIntField(b, "duration", vt.duration)
	b = appendIntField(b, "framespersecond", seedanceFPS)
	if vt.audio != "" {
		b = append(b, `,"generate_audio":`...)
		b = append(b, vt.audio...)
	}
	b = append(b, `,"service_tier":"default"`...)
	b = appendIntField(b, "execution_expires_after", seedanceExpiresAfter)
	return append(b, '}')
}

func handleSeedanceDelete(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	vt, found := x.s.tasks.cancel(x.key, id, x.now().Unix())
	switch {
	case !found:
		x.taskNotFound(id)
	case vt.phase == phaseRunning:
		x.badRequest("The task `" + id + "` is running and cannot be cancelled: only a queued task can.")
	default:
		b := append(getBuf(), "{}"...)
		x.ok(b, usage{})
		putBuf(b)
	}
}

// videoRoute resolves /v1/videos/{id} (GET, DELETE) and
// /v1/videos/{id}/content (GET).
func videoRoute(r *http.Request, rest string) (routeMatch, bool) {
	if id, ok := strings.CutSuffix(rest, "/content"); ok && id != "" && !strings.Contains(id, "/") {
		return routeMatch{d: &openaiDialect, method: http.MethodGet, h: handleVideoContent, arg: id}, true
	}
	if strings.Contains(rest, "/") {
		return routeMatch{d: &openaiDialect}, false
	}
	if r.Method == http.MethodDelete {
		return routeMatch{d: &openaiDialect, method: http.MethodDelete, h: handleVideoDelete, arg: rest}, true
	}
	return routeMatch{d: &openaiDialect, method: http.MethodGet, h: handleVideoGet, arg: rest}, true
}

// seedanceRoute resolves /api/v3/contents/generations/tasks/{id} (GET,
// DELETE).
func seedanceRoute(r *http.Request, id string) (routeMatch, bool) {
	if strings.Contains(id, "/") {
		return routeMatch{d: &arkDialect}, false
	}
	if r.Method == http.MethodDelete {
		return routeMatch{d: &arkDialect, method: http.MethodDelete, h: handleSeedanceDelete, arg: id}, true
	}
	return routeMatch{d: &arkDialect, method: http.MethodGet, h: handleSeedanceGet, arg: id}, true
}
