package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// pngBytes is a small valid PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// counted serves h and counts the requests it gets.
type counted struct {
	*httptest.Server
	hits atomic.Int64
}

func newCounted(t *testing.T, h http.HandlerFunc) *counted {
	t.Helper()
	c := &counted{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

// addrPort is the address the server listens on.
func (c *counted) addrPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(c.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func serve(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Write(body)
	}
}

// wantRefused checks that err is the client-facing error for rawURL with
// the given reason.
func wantRefused(t *testing.T, err error, rawURL, reason string) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *llm.Error", err, err)
	}
	if e.Kind != llm.KindInvalid || e.Code != "invalid_image_url" {
		t.Errorf("kind, code = %v, %q, want %v, invalid_image_url", e.Kind, e.Code, llm.KindInvalid)
	}
	if want := "the image at " + rawURL + " could not be fetched: " + reason; e.Message != want {
		t.Errorf("message = %q\nwant      %q", e.Message, want)
	}
	return e
}

func TestFetch(t *testing.T) {
	pngData := pngBytes(t)
	pdfData := []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")
	tests := []struct {
		name    string
		opts    Options
		handler http.HandlerFunc
		path    string // appended to the server's URL

		wantMIME   string
		wantBody   []byte
		wantReason string // when the fetch must fail
		wantHits   int64
	}{
		{
			name:    "png",
			opts:    Options{AllowPrivate: true},
			handler: serve("image/png", pngData),
			path:    "/cat.png", wantMIME: "image/png", wantBody: pngData, wantHits: 1,
		},
		{
			name:     "declared type with parameters",
			opts:     Options{AllowPrivate: true},
			handler:  serve("Image/JPEG; q=1", pngData),
			wantMIME: "image/jpeg", wantBody: pngData, wantHits: 1,
		},
		{
			name:     "sniffed when declared as octet-stream",
			opts:     Options{AllowPrivate: true},
			handler:  serve("application/octet-stream", pngData),
			wantMIME: "image/png", wantBody: pngData, wantHits: 1,
		},
		{
			name:     "pdf",
			opts:     Options{AllowPrivate: true},
			handler:  serve("application/pdf", pdfData),
			wantMIME: "application/pdf", wantBody: pdfData, wantHits: 1,
		},
		{
			name:     "sniffed pdf",
			opts:     Options{AllowPrivate: true},
			handler:  serve("text/plain", pdfData),
			wantMIME: "application/pdf", wantBody: pdfData, wantHits: 1,
		},
		{
			name:     "body exactly at the limit",
			opts:     Options{AllowPrivate: true, MaxBytes: int64(len(pngData))},
			handler:  serve("image/png", pngData),
			wantMIME: "image/png", wantBody: pngData, wantHits: 1,
		},
		{
			name:       "loopback server refused by default",
			handler:    serve("image/png", pngData),
			wantReason: "the host is not a public internet address",
		},
		{
			name:       "oversize with content length",
			opts:       Options{AllowPrivate: true, MaxBytes: 1024},
			handler:    serve("image/png", bytes.Repeat([]byte{1}, 2048)),
			wantReason: "it is larger than 1 KiB", wantHits: 1,
		},
		{
			name: "oversize without content length",
			opts: Options{AllowPrivate: true, MaxBytes: 1000},
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				for range 4 {
					w.Write(bytes.Repeat([]byte{1}, 300))
					w.(http.Flusher).Flush() // chunked: no Content-Length
				}
			},
			wantReason: "it is larger than 1000 bytes", wantHits: 1,
		},
		{
			name:       "html",
			opts:       Options{AllowPrivate: true},
			handler:    serve("text/html", []byte("<!doctype html><html><body>hi</body></html>")),
			wantReason: "it is not an image or a PDF (text/html)", wantHits: 1,
		},
		{
			name:       "undeclared text",
			opts:       Options{AllowPrivate: true},
			handler:    serve("", []byte("just some text")),
			wantReason: "it is not an image or a PDF (text/plain)", wantHits: 1,
		},
		{
			name:       "empty",
			opts:       Options{AllowPrivate: true},
			handler:    serve("image/png", nil),
			wantReason: "the server sent no content", wantHits: 1,
		},
		{
			name:       "not found",
			opts:       Options{AllowPrivate: true},
			handler:    http.NotFound,
			wantReason: "the server answered with status 404", wantHits: 1,
		},
		{
			name: "partial content",
			opts: Options{AllowPrivate: true},
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				w.WriteHeader(http.StatusPartialContent)
				w.Write(pngData)
			},
			wantReason: "the server answered with status 206", wantHits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newCounted(t, tt.handler)
			rawURL := srv.URL + tt.path
			mime, data, err := New(tt.opts).Fetch(t.Context(), rawURL)
			if tt.wantReason != "" {
				wantRefused(t, err, rawURL, tt.wantReason)
			} else {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if mime != tt.wantMIME {
					t.Errorf("mime = %q, want %q", mime, tt.wantMIME)
				}
				got, err := base64.StdEncoding.DecodeString(data)
				if err != nil || !bytes.Equal(got, tt.wantBody) {
					t.Errorf("data does not decode to the body (err %v)", err)
				}
			}
			if got := srv.hits.Load(); got != tt.wantHits {
				t.Errorf("server hits = %d, want %d", got, tt.wantHits)
			}
		})
	}
}

// TestFetchRefusesURL covers URLs refused before any connection: the
// literal addresses would hang or reach something if they were dialed.
func TestFetchRefusesURL(t *testing.T) {
	const notPublic = "the host is not a public internet address"
	tests := []struct{ url, reason string }{
		{"http://127.0.0.1/x.png", notPublic},
		{"http://127.0.0.1:8080/x.png", notPublic},
		{"http://[::1]/x.png", notPublic},
		{"http://10.1.2.3/x.png", notPublic},
		{"https://192.168.0.1/x.png", notPublic},
		{"http://172.16.5.4/x.png", notPublic},
		{"http://169.254.169.254/latest/meta-data/", notPublic},
		{"http://[::ffff:127.0.0.1]/x.png", notPublic},
		{"http://[::ffff:a9fe:a9fe]/x.png", notPublic},
		{"http://[fe80::1%25eth0]/x.png", notPublic},
		{"http://[fd00::1]/x.png", notPublic},
		{"http://100.64.0.1/x.png", notPublic},
		{"http://0.0.0.0/x.png", notPublic},
		{"http://[::]/x.png", notPublic},
		{"http://224.0.0.1/x.png", notPublic},
		{"http://[64:ff9b::a00:1]/x.png", notPublic},
		{"ftp://example.com/x.png", "only http and https URLs can be fetched"},
		{"file:///etc/passwd", "only http and https URLs can be fetched"},
		{"gopher://example.com/x", "only http and https URLs can be fetched"},
		{"data:image/png;base64,AAAA", "only http and https URLs can be fetched"},
		{"/relative/x.png", "only http and https URLs can be fetched"},
		{"http:///x.png", "the URL has no host"},
		{"http://[::1/x.png", "the URL is malformed"},
		{"http://example.com:99999/x.png", "the URL has an invalid port"},
		{"http://example.com:0/x.png", "the URL has an invalid port"},
	}
	// A transport that fails the test shows that nothing was sent.
	f := New(Options{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s", r.URL)
		return nil, errors.New("unexpected")
	})})
	defaultTransport := New(Options{})
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, _, err := f.Fetch(t.Context(), tt.url)
			wantRefused(t, err, tt.url, tt.reason)
			_, _, err = defaultTransport.Fetch(t.Context(), tt.url)
			wantRefused(t, err, tt.url, tt.reason)
		})
	}
}

// TestFetchChecksDialedAddress: a name that resolves to loopback passes the
// URL check and must be stopped when dialed, without the message naming the
// address.
func TestFetchChecksDialedAddress(t *testing.T) {
	srv := newCounted(t, serve("image/png", pngBytes(t)))
	rawURL := "http://localhost:" + strconv.Itoa(int(srv.addrPort(t).Port())) + "/x.png"
	_, _, err := New(Options{}).Fetch(t.Context(), rawURL)
	e := wantRefused(t, err, rawURL, "the host is not a public internet address")
	if strings.Contains(e.Message, "127.0.0.1") {
		t.Errorf("message %q leaks the resolved address", e.Message)
	}
	if srv.hits.Load() != 0 {
		t.Errorf("the server was reached")
	}
}

func TestFetchRedirects(t *testing.T) {
	pngData := pngBytes(t)
	target := newCounted(t, serve("image/png", pngData))
	targetPort := strconv.Itoa(int(target.addrPort(t).Port()))
	tests := []struct {
		name         string
		allowPrivate bool
		maxRedirects int
		location     string // the redirect target; "" redirects to the origin itself
		wantReason   string
		wantOrigin   int64 // requests to the origin
		wantTarget   int64 // requests to the target
	}{
		{
			name: "followed", allowPrivate: true,
			location: target.URL + "/x.png", wantOrigin: 1, wantTarget: 1,
		},
		{
			name:     "to a loopback address",
			location: target.URL + "/x.png", wantReason: "the host is not a public internet address",
			wantOrigin: 1,
		},
		{
			name:     "to a name of a loopback address",
			location: "http://localhost:" + targetPort + "/x.png", wantReason: "the host is not a public internet address",
			wantOrigin: 1,
		},
		{
			name:     "to another scheme",
			location: "ftp://example.com/x.png", wantReason: "only http and https URLs can be fetched",
			wantOrigin: 1,
		},
		{
			name: "too many", allowPrivate: true,
			wantReason: "it redirects too many times", wantOrigin: 4,
		},
		{
			name: "forbidden", allowPrivate: true, maxRedirects: -1,
			location: target.URL + "/x.png", wantReason: "it redirects too many times",
			wantOrigin: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.hits.Store(0)
			var origin *counted
			origin = newCounted(t, func(w http.ResponseWriter, r *http.Request) {
				loc := tt.location
				if loc == "" {
					loc = origin.URL + "/again"
				}
				http.Redirect(w, r, loc, http.StatusFound)
			})
			f := New(Options{AllowPrivate: tt.allowPrivate, MaxRedirects: tt.maxRedirects})
			if !tt.allowPrivate {
				// Let the origin through as if it were public.
				originAddr, next := origin.addrPort(t), f.allow
				f.allow = func(ap netip.AddrPort) bool { return ap == originAddr || next(ap) }
			}
			rawURL := origin.URL + "/x.png"
			mime, _, err := f.Fetch(t.Context(), rawURL)
			if tt.wantReason == "" {
				if err != nil || mime != "image/png" {
					t.Fatalf("Fetch = %q, %v; want image/png", mime, err)
				}
			} else {
				e := wantRefused(t, err, rawURL, tt.wantReason)
				if strings.Contains(e.Message, targetPort) {
					t.Errorf("message %q names the redirect target", e.Message)
				}
			}
			if got := origin.hits.Load(); got != tt.wantOrigin {
				t.Errorf("origin hits = %d, want %d", got, tt.wantOrigin)
			}
			if got := target.hits.Load(); got != tt.wantTarget {
				t.Errorf("target hits = %d, want %d", got, tt.wantTarget)
			}
		})
	}
}

func TestFetchTimeoutAndCancel(t *testing.T) {
	// The handler holds the response until the client gives up.
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	rawURL := srv.URL + "/slow.png"

	t.Run("timeout", func(t *testing.T) {
		f := New(Options{AllowPrivate: true, Timeout: 50 * time.Millisecond})
		_, _, err := f.Fetch(t.Context(), rawURL)
		wantRefused(t, err, rawURL, "it took too long to download")
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := New(Options{AllowPrivate: true}).Fetch(ctx, rawURL)
		wantRefused(t, err, rawURL, "the request was canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFetchTransport: a given Transport is used, and literal addresses are
// still refused.
func TestFetchTransport(t *testing.T) {
	pngData := pngBytes(t)
	var got []string
	f := New(Options{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.String())
		return &http.Response{
			StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"image/png"}},
			Body: io.NopCloser(bytes.NewReader(pngData)), ContentLength: int64(len(pngData)), Request: r,
		}, nil
	})})
	mime, data, err := f.Fetch(t.Context(), "https://images.example/cat.png")
	if err != nil || mime != "image/png" || data != base64.StdEncoding.EncodeToString(pngData) {
		t.Fatalf("Fetch = %q, %d bytes, %v", mime, len(data), err)
	}
	if _, _, err := f.Fetch(t.Context(), "https://127.0.0.1/cat.png"); err == nil {
		t.Error("literal loopback address fetched through the given transport")
	}
	if want := []string{"https://images.example/cat.png"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("transport saw %v, want %v", got, want)
	}
}

func TestShorten(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("é", 200)
	s := shorten(long)
	if len(s) > maxShownURL+len("…") || !strings.HasSuffix(s, "…") || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
		t.Errorf("shorten = %q", s)
	}
	if _, err := url.Parse(shorten("https://example.com/a.png")); err != nil {
		t.Error(err)
	}
}
