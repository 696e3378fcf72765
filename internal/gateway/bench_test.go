package gateway_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// BenchmarkChatCompletion measures a whole non-streamed request through the
// gateway and the mock, in process (profile with -cpuprofile). The load
// tool (tokenhot bench) is the measurement of record; this one is for
// finding where the time goes.
func BenchmarkChatCompletion(b *testing.B) {
	limited := func(mockURL, dsn string) string {
		return testConfig(mockURL, dsn) + `
limits:
  key: {rpm: 100000000, tpm: 100000000000, concurrent: 100000}
  user: {rpm: 100000000, tpm: 100000000000, concurrent: 100000}
`
	}
	for _, c := range []struct {
		name          string
		stream, limit bool
	}{{"plain", false, false}, {"stream", true, false}, {"plain-limited", false, true}, {"stream-limited", true, true}} {
		stream := c.stream
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig
			if c.limit {
				cfg = limited
			}
			e := newEnvConfig(b, "sqlite", mock.Options{}, cfg)
			body := `{"model":"gpt-5","max_tokens":256,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
				`,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write one sentence about gateways."}]}`
			if !stream {
				body = strings.Replace(body, `,"stream_options":{"include_usage":true}`, "", 1)
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 256}
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+aliceKey)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTranslatedStream compares a stream passed through (an OpenAI
// client and upstream) with streams translated between protocols, one
// request at a time so that latencies are not queueing: ttft-µs is the time
// from sending the request to the first byte of the body, µs/event the rest
// of the stream divided by its content events (mock.Options.Chunks).
func BenchmarkTranslatedStream(b *testing.B) {
	const chunks = 64
	cases := []struct{ name, path, body, header string }{
		{"chat-passthrough", "/v1/chat/completions",
			`{"model":"gpt-5","stream":true,"messages":[{"role":"user","content":"Write about gateways."}]}`, "Authorization"},
		{"chat-from-anthropic", "/v1/chat/completions",
			`{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"Write about gateways."}]}`, "Authorization"},
		{"anthropic-from-openai", "/v1/messages",
			`{"model":"gpt-5","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"Write about gateways."}]}`, "X-Api-Key"},
		{"responses-from-gemini", "/v1/responses",
			`{"model":"gemini-flash","stream":true,"input":"Write about gateways."}`, "Authorization"},
		{"gemini-from-anthropic", "/v1beta/models/claude-sonnet:streamGenerateContent?alt=sse",
			`{"contents":[{"parts":[{"text":"Write about gateways."}]}]}`, "X-Goog-Api-Key"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := newEnvWith(b, "sqlite", mock.Options{Chunks: chunks})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			var ttft, rest time.Duration
			ttfts := make([]time.Duration, 0, b.N)
			buf := make([]byte, 32<<10)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+c.path, strings.NewReader(c.body))
				v := aliceKey
				if c.header == "Authorization" {
					v = "Bearer " + aliceKey
				}
				req.Header.Set(c.header, v)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := resp.Body.Read(buf[:1]); err != nil {
					b.Fatal(err)
				}
				first := time.Now()
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				ttft += first.Sub(start)
				ttfts = append(ttfts, first.Sub(start))
				rest += time.Since(first)
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			slices.Sort(ttfts)
			b.ReportMetric(float64(ttfts[len(ttfts)/2].Nanoseconds())/1000, "ttft-p50-µs")
			b.ReportMetric(float64(ttft.Microseconds())/float64(b.N), "ttft-mean-µs")
			b.ReportMetric(float64(rest.Nanoseconds())/1000/float64(b.N*chunks), "µs/event")
		})
	}
}
