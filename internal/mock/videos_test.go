//lint:file-ignore SA1019 openai-go marks the Sora API deprecated (shut down on 2026-09-24); the mock serves it until then.

package mock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"
)

func TestVideoFiles(t *testing.T) {
	if len(mp4Video) != 64 || !bytes.HasPrefix(mp4Video, []byte("\x00\x00\x00\x18ftypmp42")) {
		t.Errorf("MP4 is %d bytes: %q", len(mp4Video), mp4Video[:12])
	}
	if ct := http.DetectContentType(mp4Video); ct != "video/mp4" {
		t.Errorf("MP4 sniffed as %s", ct)
	}
	if ct := http.DetectContentType(webpImage); ct != "image/webp" || len(webpImage) != 34 {
		t.Errorf("WebP sniffed as %s, %d bytes", ct, len(webpImage))
	}
	_, url := startMock(t, Options{})
	for _, name := range []string{"video-1.mp4", "video-42.mp4"} {
		resp, err := http.Get(url + "/_mock/files/" + name) // no key
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" || !bytes.Equal(body, mp4Video) {
			t.Errorf("%s: %d %q %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	for _, name := range []string{"video-.mp4", "video-1.png", "image-1.mp4", "video-x.mp4"} {
		resp, err := http.Get(url + "/_mock/files/" + name)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, resp.StatusCode)
		}
	}
}

// videoState is what a test checks of a Video.
type videoState struct {
	ID, Status, Model, Seconds, Size, Prompt string
	Progress                                 int64
	Created, Completed, Expires              int64
	ErrCode                                  string
}

func foldVideo(v *openai.Video) videoState {
	return videoState{ID: v.ID, Status: string(v.Status), Model: string(v.Model), Seconds: string(v.Seconds),
		Size: string(v.Size), Prompt: v.Prompt, Progress: v.Progress, Created: v.CreatedAt,
		Completed: v.CompletedAt, Expires: v.ExpiresAt, ErrCode: v.Error.Code}
}

func TestSoraSDK(t *testing.T) {
	s, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	const now = 1_700_000_000
	const prompt = "A calico cat playing a piano on stage"

	// Multipart, with a file as the input reference.
	v, err := client.Videos.New(ctx, openai.VideoNewParams{
		Prompt: prompt, Model: "sora-2-pro", Seconds: "8", Size: "1280x720",
		InputReference: openai.VideoNewParamsInputReferenceUnion{OfFile: bytes.NewReader(pngImage)},
	})
	if err != nil {
		t.Fatal(err)
	}
	queued := videoState{ID: "video_1", Status: "queued", Model: "sora-2-pro", Seconds: "8", Size: "1280x720", Prompt: prompt, Created: now}
	if diff := cmp.Diff(queued, foldVideo(v)); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	for _, f := range []string{"completed_at", "expires_at", "error", "remixed_from_video_id"} {
		if raw := gjsonRaw(v.RawJSON(), f); raw != "null" {
			t.Errorf("%s = %s, want null", f, raw)
		}
	}

	// No content before it completes.
	_, err = client.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Type != "invalid_request_error" {
		t.Fatalf("early download: %v", err)
	}

	// Each GET advances it one step.
	var got []videoState
	var raw *http.Response
	for {
		v, err = client.Videos.Get(ctx, v.ID, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if h := raw.Header.Get("openai-poll-after-ms"); h != "10" {
			t.Errorf("openai-poll-after-ms %q", h)
		}
		got = append(got, foldVideo(v))
		if v.Status == openai.VideoStatusCompleted || len(got) > 5 {
			break
		}
	}
	running, done := queued, queued
	running.Status, running.Progress = "in_progress", 50
	done.Status, done.Progress, done.Completed, done.Expires = "completed", 100, now, now+3600
	if diff := cmp.Diff([]videoState{running, done}, got); diff != "" {
		t.Errorf("polls (-want +got):\n%s", diff)
	}
	if raw := gjsonRaw(v.RawJSON(), "error"); raw != "null" {
		t.Errorf("error = %s", raw)
	}
	// A finished task stays finished.
	if v, err = client.Videos.Get(ctx, v.ID); err != nil || foldVideo(v) != done {
		t.Errorf("after completion: %+v %v", v, err)
	}

	resp, err := client.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" || !bytes.Equal(body, mp4Video) {
		t.Errorf("content: %q %q", ct, body)
	}
	resp, err = client.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{Variant: "thumbnail"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "image/webp" || !bytes.Equal(body, webpImage) {
		t.Errorf("thumbnail: %q %q", ct, body)
	}

	// NewAndPoll reads openai-poll-after-ms, so it returns at once.
	v, err = client.Videos.NewAndPoll(ctx, openai.VideoNewParams{Prompt: "a fox"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := videoState{ID: "video_2", Status: "completed", Model: "sora-2", Seconds: "4", Size: "720x1280",
		Prompt: "a fox", Progress: 100, Created: now, Completed: now, Expires: now + 3600}
	if diff := cmp.Diff(want, foldVideo(v)); diff != "" {
		t.Errorf("NewAndPoll (-want +got):\n%s", diff)
	}

	// Delete, then it is gone.
	del, err := client.Videos.Delete(ctx, v.ID)
	if err != nil || del.ID != v.ID || !del.Deleted || del.Object != "video.deleted" {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err = client.Videos.Get(ctx, v.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("get after delete: %v", err)
	}

	// 1 create + 1 early download + 3 GETs + 2 downloads, then
	// NewAndPoll (create + 2 GETs), delete, GET.
	st := s.Stats(testKey)
	wantStats := Stats{Requests: 12, ByStatus: map[int]int64{200: 10, 404: 2}}
	if diff := cmp.Diff(wantStats, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// gjsonRaw is the raw JSON at path, or "" if it is missing.
func gjsonRaw(body, path string) string { return gjson.Get(body, path).Raw }

func TestSoraFailure(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	v, err := client.Videos.NewAndPoll(ctx, openai.VideoNewParams{Prompt: "something forbidden [[mock:fail]]"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != openai.VideoStatusFailed || v.Error.Code != "moderation_blocked" || v.Error.Message == "" {
		t.Errorf("failed task: %s", v.RawJSON())
	}
	if v.CompletedAt != 1_700_000_000 || gjsonRaw(v.RawJSON(), "expires_at") != "null" {
		t.Errorf("failed task times: %s", v.RawJSON())
	}
	_, err = client.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("download of a failed video: %v", err)
	}
	// A status directive fails the create call itself.
	_, err = client.Videos.New(ctx, openai.VideoNewParams{Prompt: "x [[mock:status=429]]"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Errorf("directive: %v", err)
	}
}

func TestSoraOwnershipAndErrors(t *testing.T) {
	_, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	other := bearerAuth("sk-other")
	r := send(t, url+"/v1/videos", `{"prompt":"p"}`, auth...)
	if r.status != 200 || jsonPath(t, r.body, "id").Str != "video_1" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/v1/videos/video_1", "/v1/videos/video_1/content"} {
		r = send(t, url+path, "", other...)
		if r.status != 404 || jsonPath(t, r.body, "error.type").Str != "invalid_request_error" {
			t.Errorf("%s with another key: %d %s", path, r.status, r.body)
		}
	}
	r = send(t, url+"/v1/videos/video_9", "", auth...)
	if r.status != 404 || !strings.Contains(jsonPath(t, r.body, "error.message").Str, "video_9") {
		t.Errorf("unknown id: %d %s", r.status, r.body)
	}
	// The other key's GETs did not advance it.
	r = send(t, url+"/v1/videos/video_1", "", auth...)
	if r.status != 200 || jsonPath(t, r.body, "status").Str != "in_progress" {
		t.Errorf("owner GET: %d %s", r.status, r.body)
	}
	// An unfinished video cannot be deleted.
	if r = sendMethod(t, http.MethodDelete, url+"/v1/videos/video_1", auth...); r.status != 400 {
		t.Errorf("delete in progress: %d %s", r.status, r.body)
	}
	if r = send(t, url+"/v1/videos/video_1/content?variant=gif", "", auth...); r.status != 400 {
		t.Errorf("bad variant: %d %s", r.status, r.body)
	}
	for _, body := range []string{
		`{"model":"sora-2"}`,
		`{"prompt":""}`,
		`{"prompt":"p","seconds":"5"}`,
		`{"prompt":"p","seconds":5}`,
		`{"prompt":"p","seconds":true}`,
		`{"prompt":"p","size":"big"}`,
		`{"prompt":"p","input_reference":"https://x/y.png"}`,
		`[]`,
	} {
		if r := send(t, url+"/v1/videos", body, auth...); r.status != 400 || !gjsonHas(r.body, "error.message") {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	if r = send(t, url+"/v1/videos", "", auth...); r.status != 405 {
		t.Errorf("GET /v1/videos: %d", r.status)
	}
	if r = send(t, url+"/v1/videos/video_1/remix", `{"prompt":"p"}`, auth...); r.status != 404 {
		t.Errorf("remix: %d", r.status)
	}
}

// sendMethod makes a bodiless request with the given method.
func sendMethod(t *testing.T, method, url string, headers ...string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b), readErr: readErr}
}

func TestSoraRawBodies(t *testing.T) {
	_, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	// JSON with a numeric seconds and an image_url reference.
	r := send(t, url+"/v1/videos", `{"model":"sora-2","prompt":"a \"red\" fox","seconds":12,"size":"1792x1024","input_reference":{"image_url":"https://x/y.png"}}`, auth...)
	want := `{"id":"video_1","object":"video","model":"sora-2","status":"queued","progress":0,"created_at":1700000000,"size":"1792x1024","seconds":"12","prompt":"a \"red\" fox","completed_at":null,"expires_at":null,"error":null,"remixed_from_video_id":null}`
	if r.status != 200 || r.body != want || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("create: %d\n got %s\nwant %s", r.status, r.body, want)
	}
	send(t, url+"/v1/videos/video_1", "", auth...)
	r = send(t, url+"/v1/videos/video_1", "", auth...)
	want = `{"id":"video_1","object":"video","model":"sora-2","status":"completed","progress":100,"created_at":1700000000,"size":"1792x1024","seconds":"12","prompt":"a \"red\" fox","completed_at":1700000000,"expires_at":1700003600,"error":null,"remixed_from_video_id":null}`
	if r.status != 200 || r.body != want {
		t.Errorf("completed: %d\n got %s\nwant %s", r.status, r.body, want)
	}
	// Multipart with the object reference in npm's bracket form.
	body, ct := multipartBody(t, formPart{"prompt", "", "p [[mock:fail]]"}, formPart{"seconds", "", "8"},
		formPart{"input_reference[image_url]", "", "https://x/y.png"})
	r = send(t, url+"/v1/videos", body, "Authorization", "Bearer "+testKey, "Content-Type", ct)
	if r.status != 200 || jsonPath(t, r.body, "seconds").Str != "8" || jsonPath(t, r.body, "model").Str != "sora-2" {
		t.Fatalf("multipart: %d %s", r.status, r.body)
	}
	send(t, url+"/v1/videos/video_2", "", auth...)
	r = send(t, url+"/v1/videos/video_2", "", auth...)
	want = `{"id":"video_2","object":"video","model":"sora-2","status":"failed","progress":100,"created_at":1700000000,"size":"720x1280","seconds":"8","prompt":"p [[mock:fail]]","completed_at":1700000000,"expires_at":null,"error":{"code":"moderation_blocked","message":"Your request was blocked by our moderation system. (mock failure)"},"remixed_from_video_id":null}`
	if r.body != want {
		t.Errorf("failed:\n got %s\nwant %s", r.body, want)
	}
	// A reference file that is not an image.
	body, ct = multipartBody(t, formPart{"prompt", "", "p"}, formPart{"input_reference", "ref.png", "hello"})
	if r = send(t, url+"/v1/videos", body, "Authorization", "Bearer "+testKey, "Content-Type", ct); r.status != 400 {
		t.Errorf("bad reference: %d %s", r.status, r.body)
	}
}

func TestVideoSteps(t *testing.T) {
	tests := []struct {
		steps    int
		statuses []string
		progress []int64
	}{
		{1, []string{"completed", "completed"}, []int64{100, 100}},
		{4, []string{"in_progress", "in_progress", "in_progress", "completed", "completed"}, []int64{25, 50, 75, 100, 100}},
		{-1, []string{"queued", "queued", "queued"}, []int64{0, 0, 0}},
	}
	for _, tt := range tests {
		_, url := startMock(t, Options{VideoSteps: tt.steps})
		auth := bearerAuth(testKey)
		send(t, url+"/v1/videos", `{"prompt":"p"}`, auth...)
		var statuses []string
		var progress []int64
		for range tt.statuses {
			r := send(t, url+"/v1/videos/video_1", "", auth...)
			statuses = append(statuses, jsonPath(t, r.body, "status").Str)
			progress = append(progress, jsonPath(t, r.body, "progress").Int())
		}
		if !cmp.Equal(statuses, tt.statuses) || !cmp.Equal(progress, tt.progress) {
			t.Errorf("steps %d: %v %v, want %v %v", tt.steps, statuses, progress, tt.statuses, tt.progress)
		}
		// Seedance follows the same steps.
		send(t, url+"/api/v3/contents/generations/tasks", `{"model":"m","content":[{"type":"text","text":"p"}]}`, auth...)
		var last string
		for range tt.statuses {
			last = jsonPath(t, send(t, url+"/api/v3/contents/generations/tasks/cgt-2", "", auth...).body, "status").Str
		}
		if want := map[string]string{"completed": "succeeded", "queued": "queued"}[tt.statuses[len(tt.statuses)-1]]; last != want {
			t.Errorf("steps %d: Seedance ends %s, want %s", tt.steps, last, want)
		}
	}
}

func TestSeedanceTasks(t *testing.T) {
	s, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	tasks := url + "/api/v3/contents/generations/tasks"
	tail := func(seed, res, ratio, dur string) string {
		return `"created_at":1700000000,"updated_at":1700000000,"seed":` + seed + `,"resolution":"` + res + `","ratio":"` + ratio +
			`","duration":` + dur + `,"framespersecond":24`
	}
	const svc = `,"service_tier":"default","execution_expires_after":172800}`

	// Top-level parameters, a first frame, the last frame asked for.
	r := send(t, tasks, `{"model":"doubao-seedance-1-0-pro-250528","content":[{"type":"text","text":"A kitten yawns"},{"type":"image_url","image_url":{"url":"https://example.com/first.png"},"role":"first_frame"}],"resolution":"1080p","ratio":"21:9","duration":10,"seed":7,"watermark":false,"generate_audio":true,"callback_url":"https://gw.example/cb","return_last_frame":true}`, auth...)
	if r.status != 200 || r.body != `{"id":"cgt-1"}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	head := `{"id":"cgt-1","model":"doubao-seedance-1-0-pro-250528","status":`
	common := tail("7", "1080p", "21:9", "10") + `,"generate_audio":true` + svc
	wants := []string{
		head + `"running",` + common,
		head + `"succeeded","content":{"video_url":"` + url + `/_mock/files/video-1.mp4","last_frame_url":"` + url + `/_mock/files/image-1.png"},"usage":{"completion_tokens":217800,"total_tokens":217800},` + common,
		head + `"succeeded","content":{"video_url":"` + url + `/_mock/files/video-1.mp4","last_frame_url":"` + url + `/_mock/files/image-1.png"},"usage":{"completion_tokens":217800,"total_tokens":217800},` + common,
	}
	for i, want := range wants {
		r = send(t, tasks+"/cgt-1", "", auth...)
		if r.status != 200 || r.body != want {
			t.Errorf("poll %d: %d\n got %s\nwant %s", i+1, r.status, r.body, want)
		}
	}
	// The URL it names serves the video.
	if r = send(t, url+"/_mock/files/video-1.mp4", ""); r.status != 200 || r.body != string(mp4Video) {
		t.Errorf("video file: %d", r.status)
	}

	// Defaults, and the older text commands.
	send(t, tasks, `{"model":"m","content":[{"type":"text","text":"A kitten --rs 480p --rt 9:16 --dur 3 --seed 11"}]}`, auth...)
	send(t, tasks+"/cgt-2", "", auth...)
	r = send(t, tasks+"/cgt-2", "", auth...)
	want := `{"id":"cgt-2","model":"m","status":"succeeded","content":{"video_url":"` + url + `/_mock/files/video-2.mp4"},"usage":{"completion_tokens":65340,"total_tokens":65340},` + tail("11", "480p", "9:16", "3") + svc
	if r.body != want {
		t.Errorf("text commands:\n got %s\nwant %s", r.body, want)
	}
	send(t, tasks, `{"model":"m","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}],"seed":-1}`, auth...)
	send(t, tasks+"/cgt-3", "", auth...)
	r = send(t, tasks+"/cgt-3", "", auth...)
	want = `{"id":"cgt-3","model":"m","status":"succeeded","content":{"video_url":"` + url + `/_mock/files/video-3.mp4"},"usage":{"completion_tokens":108900,"total_tokens":108900},` + tail("42", "720p", "16:9", "5") + svc
	if r.body != want {
		t.Errorf("defaults:\n got %s\nwant %s", r.body, want)
	}

	// A failing task.
	send(t, tasks, `{"model":"m","content":[{"type":"text","text":"bad [[mock:fail]]"}]}`, auth...)
	send(t, tasks+"/cgt-4", "", auth...)
	r = send(t, tasks+"/cgt-4", "", auth...)
	want = `{"id":"cgt-4","model":"m","status":"failed","error":{"code":"OutputVideoSensitiveContentDetected","message":"The request failed because the output video may contain sensitive information. (mock failure)"},` + tail("42", "720p", "16:9", "5") + svc
	if r.body != want {
		t.Errorf("failed:\n got %s\nwant %s", r.body, want)
	}

	// Usage is counted once per task, on the poll that first sees it succeed;
	// the file is not counted.
	st := s.Stats(testKey)
	if st.CompletionTokens != 217800+65340+108900 || st.Requests != 13 || st.ByStatus[200] != 13 {
		t.Errorf("stats %+v", st)
	}
}

func TestSeedanceCancelAndErrors(t *testing.T) {
	srv, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	tasks := url + "/api/v3/contents/generations/tasks"
	create := `{"model":"m","content":[{"type":"text","text":"p"}]}`

	// A queued task is cancelled, and stays so.
	send(t, tasks, create, auth...)
	if r := sendMethod(t, http.MethodDelete, tasks+"/cgt-1", auth...); r.status != 200 || r.body != `{}` {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	for range 2 {
		r := send(t, tasks+"/cgt-1", "", auth...)
		if r.status != 200 || jsonPath(t, r.body, "status").Str != "cancelled" || gjsonHas(r.body, "content") || gjsonHas(r.body, "usage") {
			t.Errorf("after cancel: %d %s", r.status, r.body)
		}
	}
	// Deleting a finished task removes it.
	if r := sendMethod(t, http.MethodDelete, tasks+"/cgt-1", auth...); r.status != 200 {
		t.Errorf("delete cancelled: %d %s", r.status, r.body)
	}
	r := send(t, tasks+"/cgt-1", "", auth...)
	if r.status != 404 || jsonPath(t, r.body, "error.code").Str != "ResourceNotFound" || jsonPath(t, r.body, "error.type").Str != "NotFound" {
		t.Errorf("after delete: %d %s", r.status, r.body)
	}
	// A running task cannot be cancelled.
	send(t, tasks, create, auth...)
	send(t, tasks+"/cgt-2", "", auth...)
	if r = sendMethod(t, http.MethodDelete, tasks+"/cgt-2", auth...); r.status != 400 {
		t.Errorf("cancel running: %d %s", r.status, r.body)
	}
	// Another key sees nothing, and cannot cancel.
	other := bearerAuth("sk-other")
	if r = send(t, tasks+"/cgt-2", "", other...); r.status != 404 {
		t.Errorf("other key GET: %d", r.status)
	}
	if r = sendMethod(t, http.MethodDelete, tasks+"/cgt-2", other...); r.status != 404 {
		t.Errorf("other key DELETE: %d", r.status)
	}
	if r = send(t, tasks+"/cgt-2", "", auth...); jsonPath(t, r.body, "status").Str != "succeeded" {
		t.Errorf("owner: %s", r.body)
	}
	if r = send(t, tasks+"/cgt-2", "", bearerAuth("")...); r.status != 401 || jsonPath(t, r.body, "error.code").Str != "AuthenticationError" {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
	for _, body := range []string{
		`{"content":[{"type":"text","text":"p"}]}`,
		`{"model":"m"}`,
		`{"model":"m","content":[]}`,
		`{"model":"m","content":"p"}`,
		`{"model":"m","content":[{"type":"text"}]}`,
		`{"model":"m","content":[{"type":"image_url","image_url":{}}]}`,
		`{"model":"m","content":[{"type":"video_url","video_url":{"url":""}}]}`,
		`{"model":"m","content":[{"type":"gif"}]}`,
		`{"model":"m","content":[{"type":"text","text":"p"}],"duration":0}`,
		`{"model":"m","content":[{"type":"text","text":"p"}],"duration":2.5}`,
		`{"model":"m","content":[{"type":"text","text":"p"}],"seed":-2}`,
		`{"model":"m","content":[{"type":"text","text":"p"}],"watermark":"no"}`,
		`{"model":"m","content":[{"type":"text","text":"p"}],"resolution":720}`,
		`not json`,
	} {
		r := send(t, tasks, body, auth...)
		if r.status != 400 || jsonPath(t, r.body, "error.type").Str != "BadRequest" {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	// A status directive fails the create call; a key fault fails a poll
	// without advancing the task.
	if r = send(t, tasks, `{"model":"m","content":[{"type":"text","text":"p [[mock:status=429]]"}]}`, auth...); r.status != 429 {
		t.Errorf("directive: %d", r.status)
	}
	send(t, tasks, create, auth...)
	srv.SetFault(testKey, Fault{Status: 503, Times: 1})
	if r = send(t, tasks+"/cgt-3", "", auth...); r.status != 503 || jsonPath(t, r.body, "error.code").Str != "ServerOverloaded" {
		t.Errorf("fault: %d %s", r.status, r.body)
	}
	if r = send(t, tasks+"/cgt-3", "", auth...); jsonPath(t, r.body, "status").Str != "running" {
		t.Errorf("after the fault: %s", r.body)
	}
}
