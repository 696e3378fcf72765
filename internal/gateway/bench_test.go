package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// BenchmarkChatCompletion measures a whole non-streamed request through the
// gateway and the mock, in process (profile with -cpuprofile). The load
// tool (tokenhot bench) is the measurement of record; this one is for
// finding where the time goes.
func BenchmarkChatCompletion(b *testing.B) {
	for _, stream := range []bool{false, true} {
		name := "plain"
		if stream {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnvWith(b, "sqlite", mock.Options{})
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
