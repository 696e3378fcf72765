package relay

import (
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestPeekBody(t *testing.T) {
	tests := []struct {
		name  string
		proto proto
		body  string
		want  peeked
		param string // of the expected error
	}{
		{"responses string input", protoResponses, `{"model":"m","input":"hi","stream":true,"max_output_tokens":50}`,
			peeked{Model: "m", Stream: true, MaxTokens: 50, N: 1}, ""},
		{"responses images", protoResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"x"},{"type":"input_image","image_url":"y"}]}]}`,
			peeked{Model: "m", N: 1, Images: 2}, ""},
		{"anthropic", protoAnthropic, `{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			peeked{Model: "c", MaxTokens: 10, N: 1}, ""},
		{"gemini model from the path", protoGemini, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":7}}`,
			peeked{MaxTokens: 7, N: 1}, ""},
		{"embeddings never stream", protoEmbeddings, `{"model":"e","input":"x","stream":"yes"}`, peeked{Model: "e", N: 1}, ""},
		{"missing model", protoAnthropic, `{"messages":[{"role":"user","content":"hi"}]}`, peeked{}, "model"},
		{"empty list", protoAnthropic, `{"model":"c","messages":[]}`, peeked{}, "messages"},
		{"bad stream", protoResponses, `{"model":"m","input":"x","stream":1}`, peeked{}, "stream"},
		{"bad limit", protoGemini, `{"contents":[{}],"generationConfig":{"maxOutputTokens":-1}}`, peeked{}, "generationConfig.maxOutputTokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := peekBody([]byte(tt.body), wires[tt.proto].peek)
			if tt.param != "" {
				if e == nil || e.Kind != llm.KindInvalid || e.Param != tt.param {
					t.Fatalf("error %v, want one on %q", e, tt.param)
				}
				return
			}
			if e != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, e, tt.want)
			}
		})
	}
}

func FuzzPeekBody(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":"hi","stream":true}`), uint8(protoResponses))
	f.Add([]byte(`{"contents":[{"parts":[{"text":"hi"}]}]}`), uint8(protoGemini))
	f.Add([]byte(`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`), uint8(protoAnthropic))
	f.Fuzz(func(t *testing.T, body []byte, p uint8) {
		pr := proto(p % uint8(len(wires)))
		if pr == protoChat {
			return // the Chat reader has its own fuzz target in surface/openai
		}
		if _, e := peekBody(body, wires[pr].peek); e != nil && e.Kind != llm.KindInvalid {
			t.Fatalf("non-caller error %v", e)
		}
	})
}
