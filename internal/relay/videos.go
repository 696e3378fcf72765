package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/provider/openai"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/store"
	"github.com/tokenhot/tokenhot/internal/task"
)

// Tasks is where the relay keeps video tasks (store.Store) and when they
// are first polled (task.Worker).
type Tasks interface {
	CreateTask(ctx context.Context, t store.Task) error
	GetUserTask(ctx context.Context, userID int64, id string) (store.Task, error)
}

// videoRequest is a video generation as a client asked for it, in either
// shape (OpenAI's /v1/videos or the generic /v1/video/generations).
type videoRequest struct {
	Model      string
	Prompt     string
	Seconds    int64
	Size       string // Sora
	Resolution string // Seedance: 480p, 720p, 1080p
	Ratio      string
	Images     []string // reference images (URLs or data URLs); the first is the first frame
	Videos     []string // reference videos (V2V)
	Extra      map[string]any
}

// seedanceTokensPerSecond estimates a Seedance video's tokens (Ark bills a
// 5-second 1080p video at about 108,900 tokens).
const seedanceTokensPerSecond = 21780

func parseVideo(body []byte, contentType string) (*videoRequest, *llm.Error) {
	v := &videoRequest{Extra: map[string]any{}}
	if strings.HasPrefix(contentType, "multipart/form-data") {
		_, params, _ := strings.Cut(contentType, "boundary=")
		mr := multipart.NewReader(bytes.NewReader(body), strings.Trim(params, `"`))
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, llm.Errorf(llm.KindInvalid, "invalid_request", "the multipart body could not be read: %v", err)
			}
			data, _ := io.ReadAll(p)
			switch p.FormName() {
			case "model":
				v.Model = string(data)
			case "prompt":
				v.Prompt = string(data)
			case "seconds":
				v.Seconds, _ = strconv.ParseInt(string(data), 10, 64)
			case "size":
				v.Size = string(data)
			case "input_reference":
				v.Images = append(v.Images, llm.DataURL(http.DetectContentType(data), base64.StdEncoding.EncodeToString(data)))
			}
		}
	} else {
		if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
			return nil, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body must be a JSON object")
		}
		root := gjson.ParseBytes(body)
		v.Model, v.Prompt, v.Size = root.Get("model").Str, root.Get("prompt").Str, root.Get("size").Str
		for _, k := range []string{"seconds", "duration", "metadata.duration"} {
			if s := root.Get(k); s.Exists() && v.Seconds == 0 {
				v.Seconds = s.Int()
			}
		}
		v.Resolution = firstString(root, "resolution", "metadata.resolution")
		v.Ratio = firstString(root, "ratio", "metadata.ratio")
		if u := root.Get("input_reference.image_url"); u.Str != "" {
			v.Images = append(v.Images, u.Str)
		}
		for _, u := range root.Get("images").Array() {
			v.Images = append(v.Images, u.Str)
		}
		if u := root.Get("image"); u.Type == gjson.String && u.Str != "" {
			v.Images = append(v.Images, u.Str)
		}
		for _, u := range root.Get("videos").Array() {
			v.Videos = append(v.Videos, u.Str)
		}
		for _, k := range []string{"seed", "watermark", "generate_audio", "camera_fixed", "return_last_frame"} {
			if r := firstResult(root, k, "metadata."+k); r.Exists() {
				v.Extra[k] = r.Value()
			}
		}
	}
	if v.Model == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "model", Message: "you must provide a model"}
	}
	if v.Prompt == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "prompt", Message: "you must provide a prompt"}
	}
	if v.Seconds < 0 || v.Seconds > 60 {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_value", Param: "seconds", Message: "'seconds' must be from 1 to 60"}
	}
	return v, nil
}

func firstResult(root gjson.Result, paths ...string) gjson.Result {
	for _, p := range paths {
		if r := root.Get(p); r.Exists() {
			return r
		}
	}
	return gjson.Result{}
}

func firstString(root gjson.Result, paths ...string) string { return firstResult(root, paths...).Str }

// videoKind is the task API a channel speaks, "" when it makes no videos.
func videoKind(ch *catalog.Channel) string {
	switch ch.Type {
	case "openai", "openai-compatible":
		return "sora"
	case "ark":
		return "seedance"
	}
	return ""
}

// resolutionOf names a Sora size's resolution for pricing.
func resolutionOf(v *videoRequest, kind string) string {
	if kind == "seedance" {
		if v.Resolution == "" {
			return "720p"
		}
		return strings.ToLower(v.Resolution)
	}
	switch v.Size {
	case "1024x1792", "1792x1024":
		return "1080p"
	}
	return "720p"
}

// videoCost is what a video costs: its seconds at the model's per-second
// price for its resolution, else its tokens at the output price.
func videoCost(p billing.Price, resolution string, seconds, tokens int64) billing.Micros {
	if c, ok := p.VideoCost(resolution, seconds); ok {
		return c
	}
	return p.Cost(llm.Usage{Output: tokens})
}

// VideoCost prices a finished task (for the task worker).
func (rl *Relay) VideoCost(t store.Task) billing.Micros {
	m, ok := rl.cat.Current().Model(t.Model)
	if !ok {
		return 0
	}
	return videoCost(m.Price, t.Resolution, t.Seconds, t.UsageTokens)
}

// videosCreate serves POST /v1/videos and POST /v1/video/generations.
func (rl *Relay) videosCreate(generic bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		rl.run(w, r, "video_"+id[len("req_"):], protoVideos, func(x *exchange) *llm.Error { return x.serveVideo(w, r, generic) })
	}
}

func (x *exchange) serveVideo(w http.ResponseWriter, r *http.Request, generic bool) *llm.Error {
	rl := x.rl
	if rl.tasks == nil {
		return llm.Errorf(llm.KindUnavailable, "no_tasks", "video generation is not enabled")
	}
	snap, body, e := x.begin(w, r)
	if e != nil {
		return e
	}
	v, e := parseVideo(body, r.Header.Get("Content-Type"))
	if e != nil {
		return e
	}
	x.peek = peeked{Model: v.Model, N: 1}
	if e := x.useModel(snap, v.Model); e != nil {
		return e
	}
	m, k := x.model, x.key
	if e := x.admit(r.Context(), w); e != nil {
		return e
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	var t store.Task
	eligible := func(ch *catalog.Channel) bool { return videoKind(ch) != "" }
	e = x.tryKeys(r, eligible, llm.Errorf(llm.KindInvalid, "unsupported_endpoint",
		"the model '%s' does not generate videos here", m.Name),
		func(_ context.Context, c routing.Choice) attempt {
			kind := videoKind(c.Channel)
			if v.Seconds == 0 {
				v.Seconds = map[string]int64{"sora": 4, "seedance": 5}[kind]
			}
			res := resolutionOf(v, kind)
			if !x.held {
				x.extraHold = videoCost(m.Price, res, v.Seconds, v.Seconds*seedanceTokensPerSecond)
				x.peek.MaxTokens = 1
				if e := x.reserve(r.Context()); e != nil {
					return attempt{err: e, unsent: true}
				}
			}
			x.use(c)
			upstreamID, e := x.submitVideo(ctx, r, v, c, kind)
			if e != nil {
				return attempt{err: e}
			}
			now := rl.opts.Now()
			t = store.Task{ID: x.id, UserID: k.UserID, KeyID: k.ID, Model: m.Name, ChannelID: c.Channel.ID, Kind: kind,
				UpstreamID: upstreamID, Status: store.TaskQueued, Held: x.holdAmount, Seconds: v.Seconds, Resolution: res,
				Size: v.Size, NextPollAt: rl.firstPoll(now), CreatedAt: now, UpdatedAt: now}
			return attempt{}
		})
	if e != nil {
		return e
	}
	if err := rl.tasks.CreateTask(context.WithoutCancel(ctx), t); err != nil {
		return &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "the task could not be recorded", Cause: err}
	}
	x.held = false // the hold now belongs to the task, settled when it ends
	x.delivered, x.status, x.source = true, http.StatusOK, llm.SourceNone
	writeJSON(w, videoResource(t, generic))
	return nil
}

// submitVideo creates the task upstream and returns the upstream's id.
func (x *exchange) submitVideo(ctx context.Context, r *http.Request, v *videoRequest, c routing.Choice, kind string) (string, *llm.Error) {
	ch := c.Channel
	model := ch.UpstreamModel(x.model.Name)
	base := openai.Base(ch.Type, ch.BaseURL)
	var url string
	var body []byte
	if kind == "sora" {
		url = base + "/videos"
		m := map[string]any{"model": model, "prompt": v.Prompt, "seconds": strconv.FormatInt(v.Seconds, 10)}
		if v.Size != "" {
			m["size"] = v.Size
		}
		if len(v.Images) > 0 {
			m["input_reference"] = map[string]string{"image_url": v.Images[0]}
		}
		body, _ = json.Marshal(m)
	} else {
		url = base + "/contents/generations/tasks"
		content := []any{map[string]any{"type": "text", "text": v.Prompt}}
		for i, u := range v.Images {
			role := "reference_image"
			if i == 0 && len(v.Videos) == 0 {
				role = "first_frame"
			}
			content = append(content, map[string]any{"type": "image_url", "image_url": map[string]string{"url": u}, "role": role})
		}
		for _, u := range v.Videos {
			content = append(content, map[string]any{"type": "video_url", "video_url": map[string]string{"url": u}, "role": "reference_video"})
		}
		m := map[string]any{"model": model, "content": content, "duration": v.Seconds, "resolution": resolutionOf(v, kind)}
		if v.Ratio != "" {
			m["ratio"] = v.Ratio
		}
		for k, val := range v.Extra {
			m[k] = val
		}
		body, _ = json.Marshal(m)
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "bad upstream address", Cause: err}
	}
	up.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"tokenhot"}}
	openai.Authorize(up.Header, c.Key)
	resp, err := x.rl.client.Do(up)
	if err != nil {
		return "", upstreamTransportError(r.Context(), err)
	}
	defer resp.Body.Close()
	x.upstream = resp.Header.Get(openai.RequestIDHeader)
	if resp.StatusCode >= 300 {
		return "", upstreamStatusError(resp)
	}
	answer, err := readResponse(resp)
	if err != nil || gjson.GetBytes(answer, "id").Str == "" {
		return "", &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_response", Message: "the upstream did not return a task id",
			Cause: fmt.Errorf("%v: %.200s", err, answer)}
	}
	return gjson.GetBytes(answer, "id").Str, nil
}

// videoResource is a task as OpenAI's VideoResource (the generic shape adds
// task_id and the content URL).
func videoResource(t store.Task, generic bool) map[string]any {
	v := map[string]any{"id": t.ID, "object": "video", "model": t.Model, "status": t.Status, "progress": t.Progress,
		"created_at": t.CreatedAt.Unix(), "completed_at": nil, "expires_at": nil, "seconds": strconv.FormatInt(t.Seconds, 10),
		"size": t.Size, "error": nil, "remixed_from_video_id": nil}
	if t.CompletedAt != nil {
		v["completed_at"] = t.CompletedAt.Unix()
	}
	if t.ExpiresAt != nil {
		v["expires_at"] = t.ExpiresAt.Unix()
	}
	if t.Status == store.TaskFailed {
		v["error"] = map[string]string{"code": t.ErrorCode, "message": t.ErrorMessage}
	}
	if generic {
		v["task_id"] = t.ID
		if t.Status == store.TaskCompleted {
			v["metadata"] = map[string]string{"url": "/v1/videos/" + t.ID + "/content"}
		}
	}
	return v
}

// videosGet serves GET /v1/videos/{id} and /v1/video/generations/{id}: a
// user sees only their own tasks; anyone else's is a 404, so ids cannot be
// probed.
func (rl *Relay) videosGet(generic bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, id, ok := rl.userTask(w, r)
		if !ok {
			return
		}
		_ = id
		w.Header().Set("Openai-Poll-After-Ms", "1000")
		writeJSON(w, videoResource(t, generic))
	}
}

func (rl *Relay) userTask(w http.ResponseWriter, r *http.Request) (store.Task, string, bool) {
	_, k, id, ok := rl.keyed(w, r, protoChat)
	if !ok {
		return store.Task{}, id, false
	}
	if rl.tasks == nil {
		writeError(w, wires[protoChat].errorBody, llm.Errorf(llm.KindNotFound, "not_found", "no such video"), id)
		return store.Task{}, id, false
	}
	t, err := rl.tasks.GetUserTask(r.Context(), k.UserID, r.PathValue("id"))
	if err != nil {
		writeError(w, wires[protoChat].errorBody, llm.Errorf(llm.KindNotFound, "not_found", "no video '%s'", r.PathValue("id")), id)
		return store.Task{}, id, false
	}
	return t, id, true
}

// videosContent serves a finished video: from the gateway's own copy when
// it keeps videos (tasks.keep_dir), else streamed from the upstream while
// the upstream still has it.
func (rl *Relay) videosContent(w http.ResponseWriter, r *http.Request) {
	t, id, ok := rl.userTask(w, r)
	if !ok {
		return
	}
	if t.Status != store.TaskCompleted {
		writeError(w, wires[protoChat].errorBody, &llm.Error{Kind: llm.KindInvalid, Code: "video_not_ready", Status: http.StatusNotFound,
			Message: "the video is not ready (status " + t.Status + ")"}, id)
		return
	}
	if f, err := rl.keptVideo(t.ID); err == nil {
		defer f.Close()
		w.Header().Set("Content-Type", "video/mp4")
		if st, err := f.Stat(); err == nil {
			http.ServeContent(w, r, t.ID+".mp4", st.ModTime(), f)
			return
		}
	}
	resp, e := rl.fetchVideo(r.Context(), t)
	if e != nil {
		writeError(w, wires[protoChat].errorBody, e, id)
		return
	}
	defer resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/octet-stream") {
		ct = "video/mp4"
	}
	w.Header().Set("Content-Type", ct)
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	_, _ = io.Copy(w, resp.Body)
}

// fetchVideo opens a finished task's video at its upstream.
func (rl *Relay) fetchVideo(ctx context.Context, t store.Task) (*http.Response, *llm.Error) {
	ch := channelByID(rl.cat.Current(), t.ChannelID)
	var url string
	switch {
	case t.Kind == "seedance":
		url = t.ResultURL
	case ch != nil:
		url = openai.Base(ch.Type, ch.BaseURL) + "/videos/" + t.UpstreamID + "/content"
	}
	if url == "" {
		return nil, llm.Errorf(llm.KindUnavailable, "video_unavailable", "the video can no longer be fetched from its upstream")
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, llm.AsError(err)
	}
	if t.Kind == "sora" && ch != nil {
		openai.Authorize(up.Header, ch.NextKey())
	}
	resp, err := rl.client.Do(up)
	if err != nil {
		return nil, upstreamTransportError(ctx, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, upstreamStatusError(resp)
	}
	return resp, nil
}

// keptVideo opens the gateway's own copy of a video, if it keeps one.
func (rl *Relay) keptVideo(id string) (*os.File, error) {
	if rl.opts.VideoDir == "" || strings.ContainsAny(id, `/\`) {
		return nil, os.ErrNotExist
	}
	return os.Open(filepath.Join(rl.opts.VideoDir, id+".mp4"))
}

// KeepVideo copies a completed task's video to the video directory, so it
// stays retrievable after the upstream's link expires (task.Options.Keep).
// Without a directory it does nothing.
func (rl *Relay) KeepVideo(ctx context.Context, t store.Task) error {
	if rl.opts.VideoDir == "" || strings.ContainsAny(t.ID, `/\`) {
		return nil
	}
	if err := os.MkdirAll(rl.opts.VideoDir, 0o750); err != nil {
		return err
	}
	resp, e := rl.fetchVideo(ctx, t)
	if e != nil {
		return e
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(rl.opts.VideoDir, t.ID+".*.part")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(rl.opts.VideoDir, t.ID+".mp4"))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// PruneVideos deletes kept videos older than keep.
func (rl *Relay) PruneVideos(keep time.Duration) int {
	if rl.opts.VideoDir == "" {
		return 0
	}
	entries, err := os.ReadDir(rl.opts.VideoDir)
	if err != nil {
		return 0
	}
	n := 0
	cut := rl.opts.Now().Add(-keep)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cut) {
			if os.Remove(filepath.Join(rl.opts.VideoDir, e.Name())) == nil {
				n++
			}
		}
	}
	return n
}

// Poll asks a task's upstream for its state (task.Upstream).
func (rl *Relay) Poll(ctx context.Context, t store.Task) (task.State, error) {
	ch := channelByID(rl.cat.Current(), t.ChannelID)
	if ch == nil {
		return task.State{}, fmt.Errorf("channel %d is gone or disabled", t.ChannelID)
	}
	base := openai.Base(ch.Type, ch.BaseURL)
	url := base + "/videos/" + t.UpstreamID
	if t.Kind == "seedance" {
		url = base + "/contents/generations/tasks/" + t.UpstreamID
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return task.State{}, err
	}
	openai.Authorize(req.Header, ch.NextKey())
	resp, err := rl.client.Do(req)
	if err != nil {
		return task.State{}, err
	}
	defer resp.Body.Close()
	body, err := readResponse(resp)
	if err != nil {
		return task.State{}, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return task.State{Status: store.TaskFailed, ErrorCode: "upstream_lost", ErrorMessage: "the upstream no longer knows the task"}, nil
	}
	if resp.StatusCode >= 300 {
		return task.State{}, fmt.Errorf("upstream status %d: %.200s", resp.StatusCode, body)
	}
	root := gjson.ParseBytes(body)
	if t.Kind == "seedance" {
		return seedanceState(root), nil
	}
	return soraState(root), nil
}

func soraState(root gjson.Result) task.State {
	st := task.State{Status: root.Get("status").Str, Progress: int(root.Get("progress").Int()), Seconds: root.Get("seconds").Int(),
		ErrorCode: root.Get("error.code").Str, ErrorMessage: root.Get("error.message").Str}
	switch st.Status {
	case "completed", "failed", "queued", "in_progress":
	case "cancelled":
		st.Status = store.TaskFailed
	default:
		st.Status = store.TaskInProgress
	}
	if e := root.Get("expires_at"); e.Type == gjson.Number {
		at := time.Unix(e.Int(), 0)
		st.ExpiresAt = &at
	}
	return st
}

func seedanceState(root gjson.Result) task.State {
	st := task.State{ResultURL: root.Get("content.video_url").Str, UsageTokens: root.Get("usage.completion_tokens").Int(),
		Seconds: root.Get("duration").Int(), ErrorCode: root.Get("error.code").Str, ErrorMessage: root.Get("error.message").Str}
	switch root.Get("status").Str {
	case "queued", "pending":
		st.Status, st.Progress = store.TaskQueued, 10
	case "succeeded":
		st.Status = store.TaskCompleted
		at := time.Now().Add(24 * time.Hour) // Ark's result links expire after a day
		st.ExpiresAt = &at
	case "failed", "cancelled", "expired":
		st.Status = store.TaskFailed
		if st.ErrorCode == "" {
			st.ErrorCode = root.Get("status").Str
		}
	default:
		st.Status, st.Progress = store.TaskInProgress, 50
	}
	return st
}
