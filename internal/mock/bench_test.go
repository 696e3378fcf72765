package mock

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that costs nothing, so that the
// benchmarks measure the mock alone.
type discardWriter struct {
	h http.Header
	n int64
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += int64(len(b)); return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// benchPrompt is a typical small conversation.
const benchPrompt = "You are a helpful assistant. Please summarise the following paragraph in one sentence: the quick brown fox jumps over the lazy dog."

func benchHandler(b *testing.B, stream bool) {
	for _, pc := range protocols {
		b.Run(pc.name, func(b *testing.B) {
			s := New(Options{})
			path, body := pc.request(benchPrompt, stream)
			req := httptest.NewRequest(http.MethodPost, path, nil)
			for i := 0; i+1 < len(pc.headers); i += 2 {
				req.Header.Set(pc.headers[i], pc.headers[i+1])
			}
			rd := strings.NewReader(body)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				clear(w.h)
				s.ServeHTTP(w, req)
			}
			b.SetBytes(w.n / int64(b.N))
		})
	}
}

// BenchmarkChat is the mock's own cost for a non-streamed reply, per
// protocol, without the network.
func BenchmarkChat(b *testing.B) { benchHandler(b, false) }

// BenchmarkChatStream is the mock's own cost for a streamed reply of 8
// chunks, per protocol, without the network.
func BenchmarkChatStream(b *testing.B) { benchHandler(b, true) }

// BenchmarkChatStreamHTTP is a streamed OpenAI chat over loopback HTTP,
// client included, run in parallel as the load tool would.
func BenchmarkChatStreamHTTP(b *testing.B) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	path, body := protocols[0].request(benchPrompt, true)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
