package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// files serves fixed files and counts the requests for each path.
type files struct {
	*counted
	mu    sync.Mutex
	paths map[string]int // requests by path
}

func newFiles(t *testing.T, byPath map[string][]byte, types map[string]string) *files {
	t.Helper()
	fs := &files{paths: map[string]int{}}
	fs.counted = newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.paths[r.URL.Path]++
		fs.mu.Unlock()
		body, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", types[r.URL.Path])
		w.Write(body)
	})
	return fs
}

func pngOf(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, c)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInline(t *testing.T) {
	red, blue := pngOf(t, color.RGBA{R: 255, A: 255}), pngOf(t, color.RGBA{B: 255, A: 255})
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	srv := newFiles(t,
		map[string][]byte{"/red.png": red, "/blue.png": blue, "/doc.pdf": pdf},
		map[string]string{"/red.png": "image/png", "/blue.png": "image/png", "/doc.pdf": "application/pdf"})
	b64 := base64.StdEncoding.EncodeToString

	req := &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartText, Text: "compare these"},
				{Kind: llm.PartImage, URL: srv.URL + "/red.png"},
				{Kind: llm.PartImage, URL: "data:image/jpeg;base64,/9j/4AAQ"},
				{Kind: llm.PartFile, URL: srv.URL + "/doc.pdf", Name: "doc.pdf"},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartToolCall, ID: "call_1", Name: "screenshot", Arguments: "{}"},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartToolResult, ID: "call_1", Name: "screenshot", Content: []llm.Part{
					{Kind: llm.PartText, Text: "two shots"},
					{Kind: llm.PartImage, URL: srv.URL + "/red.png"},
					{Kind: llm.PartImage, URL: srv.URL + "/blue.png"},
					{Kind: llm.PartImage, URL: "DATA:image/gif;base64,R0lGOD"},
				}},
				{Kind: llm.PartImage, MIME: "image/webp", Data: "UklGRg=="},
				{Kind: llm.PartFile, URL: "gs://bucket/file.pdf", MIME: "application/pdf"},
				{Kind: llm.PartImage, URL: srv.URL + "/blue.png", MIME: "image/jpeg"},
			}},
		},
	}
	want := &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartText, Text: "compare these"},
				{Kind: llm.PartImage, MIME: "image/png", Data: b64(red)},
				{Kind: llm.PartImage, MIME: "image/jpeg", Data: "/9j/4AAQ"},
				{Kind: llm.PartFile, MIME: "application/pdf", Data: b64(pdf), Name: "doc.pdf"},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartToolCall, ID: "call_1", Name: "screenshot", Arguments: "{}"},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartToolResult, ID: "call_1", Name: "screenshot", Content: []llm.Part{
					{Kind: llm.PartText, Text: "two shots"},
					{Kind: llm.PartImage, MIME: "image/png", Data: b64(red)},
					{Kind: llm.PartImage, MIME: "image/png", Data: b64(blue)},
					{Kind: llm.PartImage, MIME: "image/gif", Data: "R0lGOD"},
				}},
				{Kind: llm.PartImage, MIME: "image/webp", Data: "UklGRg=="},
				{Kind: llm.PartFile, URL: "gs://bucket/file.pdf", MIME: "application/pdf"},
				{Kind: llm.PartImage, MIME: "image/png", Data: b64(blue)},
			}},
		},
	}

	if err := New(Options{AllowPrivate: true}).Inline(t.Context(), req); err != nil {
		t.Fatalf("Inline: %v", err)
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"/red.png": 1, "/blue.png": 1, "/doc.pdf": 1}, srv.paths); diff != "" {
		t.Errorf("server hits (-want +got):\n%s", diff)
	}
}

func TestInlineNothingToFetch(t *testing.T) {
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"}}}}}
	if err := New(Options{}).Inline(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if err := New(Options{}).Inline(t.Context(), &llm.Request{}); err != nil {
		t.Fatal(err)
	}
}

func TestInlineErrors(t *testing.T) {
	red := pngOf(t, color.RGBA{R: 255, A: 255})
	srv := newFiles(t, map[string][]byte{"/red.png": red}, map[string]string{"/red.png": "image/png"})
	img := func(url string) llm.Part { return llm.Part{Kind: llm.PartImage, URL: url} }
	tests := []struct {
		name         string
		allowPrivate bool
		parts        [][]llm.Part // the parts of each user message
		wantParam    string
		wantMessage  string
	}{
		{
			name: "not found in a tool result", allowPrivate: true,
			parts: [][]llm.Part{
				{img(srv.URL + "/red.png")},
				{{Kind: llm.PartToolResult, ID: "c", Content: []llm.Part{
					{Kind: llm.PartText, Text: "see"}, img(srv.URL + "/gone.png"),
				}}, img(srv.URL + "/gone.png")},
			},
			wantParam:   "messages[1].content[0].content[1]",
			wantMessage: "the image at " + srv.URL + "/gone.png could not be fetched: the server answered with status 404",
		},
		{
			name: "address not allowed",
			parts: [][]llm.Part{
				{{Kind: llm.PartText, Text: "look"}, img(srv.URL + "/red.png")},
			},
			wantParam:   "messages[0].content[1]",
			wantMessage: "the image at " + srv.URL + "/red.png could not be fetched: the host is not a public internet address",
		},
		{
			name: "malformed file URL", allowPrivate: true,
			parts: [][]llm.Part{
				{{Kind: llm.PartFile, URL: "http://[::1/doc.pdf"}},
			},
			wantParam:   "messages[0].content[0]",
			wantMessage: "the image at http://[::1/doc.pdf could not be fetched: the URL is malformed",
		},
		{
			name: "data URL without base64", allowPrivate: true,
			parts: [][]llm.Part{
				{img(srv.URL + "/red.png"), img("data:image/png,rawbytes")},
			},
			wantParam:   "messages[0].content[1]",
			wantMessage: "the data URL is malformed: it must be data:<media type>;base64,<data>",
		},
		{
			name: "empty data URL", allowPrivate: true,
			parts: [][]llm.Part{
				{{Kind: llm.PartToolResult, ID: "c", Content: []llm.Part{img("data:image/png;base64,")}}},
			},
			wantParam:   "messages[0].content[0].content[0]",
			wantMessage: "the data URL is malformed: it must be data:<media type>;base64,<data>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := func() *llm.Request {
				r := &llm.Request{}
				for _, ps := range tt.parts {
					r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: append([]llm.Part(nil), ps...)})
				}
				// Tool result contents are shared by the two builds; copy them too.
				for _, m := range r.Messages {
					for j := range m.Parts {
						m.Parts[j].Content = append([]llm.Part(nil), m.Parts[j].Content...)
					}
				}
				return r
			}
			req := build()
			srv.hits.Store(0)
			err := New(Options{AllowPrivate: tt.allowPrivate}).Inline(t.Context(), req)
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v (%T), want *llm.Error", err, err)
			}
			got := llm.Error{Kind: e.Kind, Code: e.Code, Param: e.Param, Message: e.Message}
			want := llm.Error{Kind: llm.KindInvalid, Code: "invalid_image_url", Param: tt.wantParam, Message: tt.wantMessage}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(build(), req); diff != "" {
				t.Errorf("request changed on failure (-want +got):\n%s", diff)
			}
			if !tt.allowPrivate && srv.hits.Load() != 0 {
				t.Errorf("the server was reached")
			}
		})
	}
}

// TestInlineParallel: fetches overlap, never more than maxParallel at once,
// and a new one starts as soon as one ends. The fake transport holds every
// request until the test releases it; synctest.Wait tells when all the
// fetches that can start have started.
func TestInlineParallel(t *testing.T) {
	red := pngOf(t, color.RGBA{R: 255, A: 255})
	synctest.Test(t, func(t *testing.T) {
		var (
			mu       sync.Mutex
			inFlight int
			release  = make(chan struct{})
		)
		f := New(Options{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			inFlight++
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			return &http.Response{
				StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"image/png"}},
				Body: io.NopCloser(bytes.NewReader(red)), ContentLength: int64(len(red)), Request: r,
			}, nil
		})})
		const n = 3*maxParallel - 1
		req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser}}}
		for i := range n {
			req.Messages[0].Parts = append(req.Messages[0].Parts,
				llm.Part{Kind: llm.PartImage, URL: "https://images.example/" + strconv.Itoa(i) + ".png"})
		}
		done := make(chan error, 1)
		go func() { done <- f.Inline(t.Context(), req) }()
		for released := 0; released < n; released++ {
			synctest.Wait()
			mu.Lock()
			got := inFlight
			mu.Unlock()
			if want := min(maxParallel, n-released); got != want {
				t.Fatalf("after %d fetches, %d run at once, want %d", released, got, want)
			}
			release <- struct{}{}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, p := range req.Messages[0].Parts {
			if p.URL != "" || p.MIME != "image/png" || p.Data == "" {
				t.Errorf("part not inlined: %+v", p)
			}
		}
	})
}
