package images

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"testing"

	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"github.com/tokenhot/tokenhot/internal/llm"
)

var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return append(out, '\n')
}

func editBody(t *testing.T, files int, mask bool, fields map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	name := "image"
	if files > 1 {
		name = "image[]"
	}
	for range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="anonymous_file"`)
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(png)
	}
	if mask {
		w, _ := mw.CreateFormFile("mask", "mask.png")
		_, _ = w.Write(png)
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestParseGenerationErrors(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"no model", `{"prompt":"a cat"}`, "model"},
		{"no prompt", `{"model":"m"}`, "prompt"},
		{"n too big", `{"model":"m","prompt":"p","n":11}`, "n"},
		{"stream", `{"model":"m","prompt":"p","stream":true}`, "stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGeneration([]byte(tt.body))
			e := llm.AsError(err)
			if err == nil || e.Kind != llm.KindInvalid || e.Param != tt.param {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestParseEdit(t *testing.T) {
	body, ct := editBody(t, 2, true, map[string]string{"model": "gpt-image-1", "prompt": "add a hat", "n": "2", "size": "1024x1024"})
	r, err := ParseEdit(body, ct)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 2 || r.Mask == nil || r.N != 2 || r.Images[0].MIME != "image/png" || r.Size != "1024x1024" {
		t.Fatalf("%+v", r)
	}
	if _, err := ParseEdit(editBody(t, 0, false, map[string]string{"model": "m", "prompt": "p"})); err == nil ||
		llm.AsError(err).Param != "image" {
		t.Fatalf("no image: %v", err)
	}
	if _, err := ParseEdit([]byte("{}"), "application/json"); err == nil {
		t.Fatal("JSON accepted as an edit")
	}
	// The rebuilt multipart for OpenAI carries every image and the mask.
	out, ct2, err := OpenAIEdit(r, "gpt-image-1-2025")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseEdit(out, ct2)
	if err != nil || again.Model != "gpt-image-1-2025" || len(again.Images) != 2 || again.Mask == nil || again.Prompt != "add a hat" {
		t.Fatalf("%+v %v", again, err)
	}
}

func TestUpstreamBodies(t *testing.T) {
	gen, err := ParseGeneration([]byte(`{"model":"seedream","prompt":"three posters","n":3,"size":"2K","quality":"high","watermark":false,` +
		`"image":["https://example.com/ref.png"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, ct := editBody(t, 1, false, map[string]string{"model": "m", "prompt": "make it blue", "size": "1024x1536"})
	edit, err := ParseEdit(body, ct)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() ([]byte, error){
		"ark_generation": func() ([]byte, error) { return ArkGeneration(gen, "doubao-seedream-4-0-250828") },
		"ark_edit":       func() ([]byte, error) { return ArkGeneration(edit, "doubao-seedream-4-0-250828") },
		"gemini_edit":    func() ([]byte, error) { return GeminiGeneration(edit) },
		"openai_generation": func() ([]byte, error) {
			return OpenAIGeneration(gen, "gpt-image-1")
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := build()
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", name+".json"), indent(t, b))
		})
	}
}

func TestResults(t *testing.T) {
	gemini := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Here"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}}]},"finishReason":"STOP"}],` +
		`"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":1293,"totalTokenCount":1300}}`
	res, err := FromGemini([]byte(gemini))
	if err != nil || res.Images() != 1 || res.Usage.Output != 1293 || !res.HasUsage {
		t.Fatalf("%+v %v", res, err)
	}
	goldenfile.Check(t, "testdata/from_gemini.json", indent(t, Response(res, 1700000000)))
	if _, err := FromGemini([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`)); err == nil ||
		llm.AsError(err).Kind != llm.KindUpstreamClient {
		t.Fatalf("blocked prompt: %v", err)
	}
	ark := `{"model":"doubao-seedream-4-0","created":1757323224,"data":[{"url":"https://x/1.jpeg","size":"2048x2048"},{"url":"https://x/2.jpeg","size":"2048x2048"}],` +
		`"usage":{"generated_images":2,"output_tokens":32768,"total_tokens":32768}}`
	res, err = FromOpenAI([]byte(ark))
	if err != nil || res.Images() != 2 || res.Usage.Output != 32768 {
		t.Fatalf("%+v %v", res, err)
	}
	goldenfile.Check(t, "testdata/from_ark.json", indent(t, Response(res, 1700000000)))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"p","n":2}`), "application/json")
	body, ct := func() ([]byte, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("prompt", "p")
		_ = mw.Close()
		return buf.Bytes(), mw.FormDataContentType()
	}()
	f.Add(body, ct)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		if _, err := ParseGeneration(body); err != nil && llm.AsError(err).Kind != llm.KindInvalid {
			t.Fatal(err)
		}
		if _, err := ParseEdit(body, ct); err != nil && llm.AsError(err).Kind != llm.KindInvalid {
			t.Fatal(err)
		}
	})
}
