package mock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"
)

func TestPNGImage(t *testing.T) {
	if len(pngImage) != 68 {
		t.Errorf("PNG is %d bytes, want 68", len(pngImage))
	}
	if got := base64.StdEncoding.EncodeToString(pngImage); got != pngBase64 {
		t.Errorf("pngBase64 = %s, want %s", pngBase64, got)
	}
	img, err := png.Decode(bytes.NewReader(pngImage)) // checks every CRC and the zlib checksum
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("bounds %v, want 1×1", b)
	}
	if ct := http.DetectContentType(pngImage); ct != "image/png" {
		t.Errorf("sniffed as %s", ct)
	}
}

// imageResult is what a test checks of an ImagesResponse.
type imageResult struct {
	B64, URL, Revised       []string
	HasUsage                bool
	Input, Output, Total    int64
	TextTokens, ImageTokens int64
}

func foldImages(resp *openai.ImagesResponse) imageResult {
	var r imageResult
	for _, d := range resp.Data {
		r.B64 = append(r.B64, d.B64JSON)
		r.URL = append(r.URL, d.URL)
		r.Revised = append(r.Revised, d.RevisedPrompt)
	}
	if resp.JSON.Usage.Valid() {
		u := resp.Usage
		r.HasUsage = true
		r.Input, r.Output, r.Total = u.InputTokens, u.OutputTokens, u.TotalTokens
		r.TextTokens, r.ImageTokens = u.InputTokensDetails.TextTokens, u.InputTokensDetails.ImageTokens
	}
	return r
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestOpenAIImagesGenerate(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	file := func(i string) string { return url + "/_mock/files/image-" + i + ".png" }
	const prompt = "A cute baby sea otter" // 5 words
	tests := []struct {
		name   string
		params openai.ImageGenerateParams
		want   imageResult
	}{{
		name:   "gpt-image default",
		params: openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: prompt},
		want: imageResult{B64: []string{pngBase64}, URL: []string{""}, Revised: []string{""},
			HasUsage: true, Input: 5, Output: 1000, Total: 1005, TextTokens: 5},
	}, {
		name:   "gpt-image high n=2",
		params: openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: prompt, N: openai.Int(2), Quality: "high", OutputFormat: "png", Size: "1024x1024"},
		want: imageResult{B64: repeat(pngBase64, 2), URL: repeat("", 2), Revised: repeat("", 2),
			HasUsage: true, Input: 5, Output: 8000, Total: 8005, TextTokens: 5},
	}, {
		name:   "gpt-image low n=3",
		params: openai.ImageGenerateParams{Model: "gpt-image-1-mini", Prompt: prompt, N: openai.Int(3), Quality: "low"},
		want: imageResult{B64: repeat(pngBase64, 3), URL: repeat("", 3), Revised: repeat("", 3),
			HasUsage: true, Input: 5, Output: 750, Total: 755, TextTokens: 5},
	}, {
		name:   "gpt-image medium",
		params: openai.ImageGenerateParams{Model: "gpt-image-1.5", Prompt: prompt, Quality: "medium"},
		want: imageResult{B64: []string{pngBase64}, URL: []string{""}, Revised: []string{""},
			HasUsage: true, Input: 5, Output: 1000, Total: 1005, TextTokens: 5},
	}, {
		name:   "dall-e-2 urls",
		params: openai.ImageGenerateParams{Model: "dall-e-2", Prompt: prompt, N: openai.Int(2)},
		want:   imageResult{B64: repeat("", 2), URL: []string{file("0"), file("1")}, Revised: repeat("", 2)},
	}, {
		name:   "dall-e-2 b64_json",
		params: openai.ImageGenerateParams{Model: "dall-e-2", Prompt: prompt, ResponseFormat: "b64_json"},
		want:   imageResult{B64: []string{pngBase64}, URL: []string{""}, Revised: []string{""}},
	}, {
		name:   "dall-e-3 revised prompt",
		params: openai.ImageGenerateParams{Model: "dall-e-3", Prompt: prompt, Quality: "hd"},
		want:   imageResult{B64: []string{""}, URL: []string{file("0")}, Revised: []string{prompt}},
	}, {
		name:   "no model is dall-e-2",
		params: openai.ImageGenerateParams{Prompt: prompt},
		want:   imageResult{B64: []string{""}, URL: []string{file("0")}, Revised: []string{""}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Images.Generate(context.Background(), tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Created != 1_700_000_000 {
				t.Errorf("created = %d", resp.Created)
			}
			if diff := cmp.Diff(tt.want, foldImages(resp)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenAIImagesExactBodies(t *testing.T) {
	_, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	r := send(t, url+"/v1/images/generations", `{"model":"gpt-image-1","prompt":"A cute baby sea otter","n":2,"quality":"high"}`, auth...)
	b := `{"b64_json":"` + pngBase64 + `"}`
	want := `{"created":1700000000,"data":[` + b + `,` + b + `],"usage":{"input_tokens":5,"output_tokens":8000,"total_tokens":8005,"input_tokens_details":{"text_tokens":5,"image_tokens":0}}}`
	if r.status != 200 || r.body != want {
		t.Errorf("gpt-image: %d\n got %s\nwant %s", r.status, r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	r = send(t, url+"/v1/images/generations", `{"model":"dall-e-3","prompt":"a \"red\" fox","response_format":"url"}`, auth...)
	want = `{"created":1700000000,"data":[{"url":"` + url + `/_mock/files/image-0.png","revised_prompt":"a \"red\" fox"}]}`
	if r.status != 200 || r.body != want {
		t.Errorf("dall-e-3: %d\n got %s\nwant %s", r.status, r.body, want)
	}
}

func TestMockFiles(t *testing.T) {
	_, url := startMock(t, Options{})
	for _, name := range []string{"image-0.png", "image-7.png", "image-12.png"} {
		resp, err := http.Get(url + "/_mock/files/" + name) // no key
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, pngImage) {
			t.Errorf("%s: %d %q %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	for _, name := range []string{"image-.png", "image-x.png", "image-1.jpg", "other"} {
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

func TestOpenAIImagesEdit(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	img := func() io.Reader { return bytes.NewReader(pngImage) }
	const prompt = "Add a small red hat" // 5 words
	tests := []struct {
		name   string
		params openai.ImageEditParams
		want   imageResult
	}{{
		name:   "one image",
		params: openai.ImageEditParams{Model: "gpt-image-1", Prompt: prompt, Image: openai.ImageEditParamsImageUnion{OfFile: img()}},
		want: imageResult{B64: []string{pngBase64}, URL: []string{""}, Revised: []string{""},
			HasUsage: true, Input: 105, Output: 1000, Total: 1105, TextTokens: 5, ImageTokens: 100},
	}, {
		name: "three images, mask, n=2, high",
		params: openai.ImageEditParams{Model: "gpt-image-1", Prompt: prompt, N: openai.Int(2), Quality: "high",
			Image: openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{img(), img(), img()}},
			Mask:  img()},
		want: imageResult{B64: repeat(pngBase64, 2), URL: repeat("", 2), Revised: repeat("", 2),
			HasUsage: true, Input: 305, Output: 8000, Total: 8305, TextTokens: 5, ImageTokens: 300},
	}, {
		name:   "dall-e-2 url",
		params: openai.ImageEditParams{Model: "dall-e-2", Prompt: prompt, Image: openai.ImageEditParamsImageUnion{OfFile: img()}},
		want:   imageResult{B64: []string{""}, URL: []string{url + "/_mock/files/image-0.png"}, Revised: []string{""}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Images.Edit(context.Background(), tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, foldImages(resp)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// formPart is one part of a hand-made multipart body; a file if filename
// is set.
type formPart struct{ name, filename, value string }

func multipartBody(t *testing.T, parts ...formPart) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		var pw io.Writer
		if p.filename != "" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.filename+`"`)
			h.Set("Content-Type", "application/octet-stream")
			pw, err = w.CreatePart(h)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.value)
	}
	w.Close()
	return buf.String(), w.FormDataContentType()
}

func TestOpenAIImagesEditRaw(t *testing.T) {
	_, url := startMock(t, Options{})
	png := string(pngImage)
	jpeg := "\xff\xd8\xff\xe0\x00\x10JFIF\x00" // sniffs as image/jpeg
	tests := []struct {
		name   string
		parts  []formPart
		status int
		input  int64 // input_tokens when 200
	}{
		{"image field, odd filename", []formPart{{"prompt", "", "two words"}, {"model", "", "gpt-image-1"}, {"image", "whatever.bin", png}}, 200, 102},
		{"image[] fields", []formPart{{"prompt", "", "two words"}, {"model", "", "gpt-image-1"}, {"image[]", "a", png}, {"image[]", "b.jpg", jpeg}}, 200, 202},
		{"indexed fields", []formPart{{"prompt", "", "two words"}, {"model", "", "gpt-image-1"}, {"image[0]", "a", png}, {"image[1]", "b", png}}, 200, 202},
		{"no image", []formPart{{"prompt", "", "two words"}, {"model", "", "gpt-image-1"}}, 400, 0},
		{"no prompt", []formPart{{"model", "", "gpt-image-1"}, {"image", "a.png", png}}, 400, 0},
		{"not an image", []formPart{{"prompt", "", "x"}, {"image", "a.png", "hello, world"}}, 400, 0},
		{"bad mask", []formPart{{"prompt", "", "x"}, {"image", "a.png", png}, {"mask", "m.png", "nope"}}, 400, 0},
		{"bad n", []formPart{{"prompt", "", "x"}, {"image", "a.png", png}, {"n", "", "11"}}, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.parts...)
			r := send(t, url+"/v1/images/edits", body, "Authorization", "Bearer "+testKey, "Content-Type", ct)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status != 200 {
				jsonPath(t, r.body, "error.message")
				if typ := jsonPath(t, r.body, "error.type").Str; typ != "invalid_request_error" {
					t.Errorf("error type %q", typ)
				}
				return
			}
			if got := jsonPath(t, r.body, "usage.input_tokens").Int(); got != tt.input {
				t.Errorf("input_tokens %d, want %d", got, tt.input)
			}
		})
	}
	// The JSON form of an edit.
	r := send(t, url+"/v1/images/edits", `{"model":"gpt-image-1","prompt":"two words","images":[{"image_url":"https://x/y.png"},{"file_id":"file-1"}]}`, bearerAuth(testKey)...)
	if r.status != 200 || jsonPath(t, r.body, "usage.input_tokens").Int() != 202 {
		t.Errorf("JSON edit: %d %s", r.status, r.body)
	}
}

func TestOpenAIImagesErrorsAndFaults(t *testing.T) {
	s, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	auth := bearerAuth(testKey)
	for _, body := range []string{
		`{"model":"gpt-image-1"}`,
		`{"model":"gpt-image-1","prompt":""}`,
		`{"prompt":"x","n":0}`,
		`{"prompt":"x","n":11}`,
		`{"prompt":"x","n":"2"}`,
		`{"prompt":"x","response_format":"png"}`,
		`{"prompt":"x","stream":true}`,
		`not json`,
	} {
		if r := send(t, url+"/v1/images/generations", body, auth...); r.status != 400 || !gjsonHas(r.body, "error.message") {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	// A status directive in the prompt.
	_, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "otter [[mock:status=429]]"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("directive: %v", err)
	}
	_, err = client.Images.Edit(ctx, openai.ImageEditParams{Model: "gpt-image-1", Prompt: "hat [[mock:status=500]]",
		Image: openai.ImageEditParamsImageUnion{OfFile: bytes.NewReader(pngImage)}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("edit directive: %v", err)
	}
	// A key's fault, once.
	s.SetFault(testKey, Fault{Status: 503, Times: 1})
	_, err = client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "otter"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("fault: %v", err)
	}
	if _, err = client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "otter", Quality: "low"}); err != nil {
		t.Fatal(err)
	}
	st := s.Stats(testKey)
	want := Stats{Requests: 12, ByStatus: map[int]int64{400: 8, 429: 1, 500: 1, 503: 1, 200: 1}, Faults: 3, PromptTokens: 1, CompletionTokens: 250}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func gjsonHas(body, path string) bool {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return false
	}
	for _, k := range strings.Split(path, ".") {
		v, ok := m[k]
		if !ok {
			return false
		}
		m, _ = v.(map[string]any)
	}
	return true
}

func TestArkSeedream(t *testing.T) {
	s, url := startMock(t, Options{})
	auth := bearerAuth(testKey)
	file := func(i string) string { return url + "/_mock/files/image-" + i + ".png" }
	item := func(i, size string) string { return `{"url":"` + file(i) + `","size":"` + size + `"}` }
	b64 := func(size string) string { return `{"b64_json":"` + pngBase64 + `","size":"` + size + `"}` }
	usage := func(n, tokens string) string {
		return `"usage":{"generated_images":` + n + `,"output_tokens":` + tokens + `,"total_tokens":` + tokens + `}}`
	}
	const head = `{"model":"doubao-seedream-4-0-250828","created":1700000000,"data":[`
	tests := []struct {
		name, body, want string
	}{{
		name: "defaults",
		body: `{"model":"doubao-seedream-4-0-250828","prompt":"a poster"}`,
		want: head + item("0", "2048x2048") + `],` + usage("1", "16384"),
	}, {
		name: "auto with max_images, 4K, references",
		body: `{"model":"doubao-seedream-4-0-250828","prompt":"three posters","image":["https://example.com/ref1.png","data:image/png;base64,` + pngBase64 + `"],"size":"4K","sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":3},"response_format":"url","watermark":false,"stream":false}`,
		want: head + item("0", "4096x4096") + `,` + item("1", "4096x4096") + `,` + item("2", "4096x4096") + `],` + usage("3", "49152"),
	}, {
		name: "auto without max_images",
		body: `{"model":"doubao-seedream-4-0-250828","prompt":"p","sequential_image_generation":"auto","size":"1K"}`,
		want: head + item("0", "1024x1024") + `],` + usage("1", "16384"),
	}, {
		name: "disabled ignores max_images",
		body: `{"model":"doubao-seedream-4-0-250828","prompt":"p","sequential_image_generation":"disabled","sequential_image_generation_options":{"max_images":4}}`,
		want: head + item("0", "2048x2048") + `],` + usage("1", "16384"),
	}, {
		name: "b64 and WxH",
		body: `{"model":"doubao-seedream-4-0-250828","prompt":"p","image":"https://example.com/a.png","size":"2304x1728","response_format":"b64_json","sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":2}}`,
		want: head + b64("2304x1728") + `,` + b64("2304x1728") + `],` + usage("2", "32768"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, url+"/api/v3/images/generations", tt.body, auth...)
			if r.status != 200 || r.body != tt.want {
				t.Errorf("%d\n got %s\nwant %s", r.status, r.body, tt.want)
			}
		})
	}
	s.Reset()
	for _, body := range []string{
		`{"model":"m"}`,
		`{"prompt":"p"}`,
		`{"model":"m","prompt":"p","size":"huge"}`,
		`{"model":"m","prompt":"p","size":"0x10"}`,
		`{"model":"m","prompt":"p","stream":true}`,
		`{"model":"m","prompt":"p","response_format":"png"}`,
		`{"model":"m","prompt":"p","sequential_image_generation":"sometimes"}`,
		`{"model":"m","prompt":"p","sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":16}}`,
		`{"model":"m","prompt":"p","image":[1]}`,
	} {
		r := send(t, url+"/api/v3/images/generations", body, auth...)
		if r.status != 400 || jsonPath(t, r.body, "error.code").Str != "InvalidParameter" {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	r := send(t, url+"/api/v3/images/generations", `{"model":"m","prompt":"p [[mock:status=429]]"}`, auth...)
	if r.status != 429 || jsonPath(t, r.body, "error.code").Str != "RateLimitExceeded.EndpointRPMExceeded" {
		t.Errorf("directive: %d %s", r.status, r.body)
	}
	r = send(t, url+"/api/v3/images/generations", `{"model":"m","prompt":"p","sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":2}}`, auth...)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := Stats{Requests: 11, ByStatus: map[int]int64{400: 9, 429: 1, 200: 1}, Faults: 1, CompletionTokens: 32768}
	if diff := cmp.Diff(want, s.Stats(testKey)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// geminiImage is what a client made of a Gemini image reply.
type geminiImage struct {
	Text    string
	Images  [][]byte
	MIME    []string
	Finish  string
	Usage   genai.GenerateContentResponseUsageMetadata
	Details []genai.ModalityTokenCount
}

func foldGeminiImage(g *geminiImage, resp *genai.GenerateContentResponse) {
	for _, p := range resp.Candidates[0].Content.Parts {
		if p.InlineData != nil {
			g.Images = append(g.Images, p.InlineData.Data)
			g.MIME = append(g.MIME, p.InlineData.MIMEType)
		} else {
			g.Text += p.Text
		}
	}
	if f := resp.Candidates[0].FinishReason; f != "" {
		g.Finish = string(f)
	}
	if u := resp.UsageMetadata; u != nil {
		g.Usage = genai.GenerateContentResponseUsageMetadata{
			PromptTokenCount: u.PromptTokenCount, CandidatesTokenCount: u.CandidatesTokenCount,
			ThoughtsTokenCount: u.ThoughtsTokenCount, TotalTokenCount: u.TotalTokenCount,
		}
		g.Details = nil
		for _, d := range u.CandidatesTokensDetails {
			g.Details = append(g.Details, *d)
		}
	}
}

func TestGeminiImageOutput(t *testing.T) {
	_, url := startMock(t, Options{})
	client := geminiClient(t, url)
	ctx := context.Background()
	details := func(text int32) []genai.ModalityTokenCount {
		return []genai.ModalityTokenCount{{Modality: "TEXT", TokenCount: text}, {Modality: "IMAGE", TokenCount: 1290}}
	}
	tests := []struct {
		name   string
		config *genai.GenerateContentConfig
		want   geminiImage
	}{{
		name:   "text and image",
		config: &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"}},
		want: geminiImage{Text: "Tokenhot mock reply:", Images: [][]byte{pngImage}, MIME: []string{"image/png"}, Finish: "STOP",
			Usage:   genai.GenerateContentResponseUsageMetadata{PromptTokenCount: 4, CandidatesTokenCount: 1293, TotalTokenCount: 1297},
			Details: details(3)},
	}, {
		name:   "image only, max tokens 2",
		config: &genai.GenerateContentConfig{ResponseModalities: []string{"IMAGE"}, MaxOutputTokens: 2},
		want: geminiImage{Text: "Tokenhot mock", Images: [][]byte{pngImage}, MIME: []string{"image/png"}, Finish: "MAX_TOKENS",
			Usage:   genai.GenerateContentResponseUsageMetadata{PromptTokenCount: 4, CandidatesTokenCount: 1292, TotalTokenCount: 1296},
			Details: details(2)},
	}, {
		name:   "text only is unchanged",
		config: &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT"}},
		want: geminiImage{Text: eightWords, Finish: "STOP",
			Usage: genai.GenerateContentResponseUsageMetadata{PromptTokenCount: 4, CandidatesTokenCount: 8, TotalTokenCount: 12}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contents := genai.Text("Draw a cat") // 3 words + 1 message
			resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash-image", contents, tt.config)
			if err != nil {
				t.Fatal(err)
			}
			var got geminiImage
			foldGeminiImage(&got, resp)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}
			if n := len(resp.Candidates[0].Content.Parts); tt.want.Images != nil && n != 2 {
				t.Errorf("%d parts, want text then image", n)
			}

			got = geminiImage{}
			var chunks []*genai.GenerateContentResponse
			for chunk, err := range client.Models.GenerateContentStream(ctx, "gemini-2.5-flash-image", contents, tt.config) {
				if err != nil {
					t.Fatal(err)
				}
				chunks = append(chunks, chunk)
				foldGeminiImage(&got, chunk)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
			if tt.want.Images == nil {
				return
			}
			// The text words, then one image chunk, then the final chunk.
			words := len(strings.Fields(tt.want.Text))
			if len(chunks) != words+2 {
				t.Fatalf("%d chunks, want %d", len(chunks), words+2)
			}
			img := chunks[words]
			if p := img.Candidates[0].Content.Parts; len(p) != 1 || p[0].InlineData == nil || img.Candidates[0].FinishReason != "" {
				t.Errorf("image chunk: %+v", img.Candidates[0])
			}
			if last := chunks[words+1]; last.Candidates[0].FinishReason == "" || last.UsageMetadata.CandidatesTokenCount != tt.want.Usage.CandidatesTokenCount {
				t.Errorf("final chunk: %+v", last.Candidates[0])
			}
		})
	}
}

func TestGeminiImageRaw(t *testing.T) {
	s, url := startMock(t, Options{})
	key := []string{"x-goog-api-key", testKey}
	body := `{"contents":[{"role":"user","parts":[{"text":"Draw a cat"}]}],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`
	r := send(t, url+"/v1beta/models/gemini-2.5-flash-image:generateContent", body, key...)
	want := `{"candidates":[{"content":{"parts":[{"text":"Tokenhot mock reply:"},{"inlineData":{"mimeType":"image/png","data":"` + pngBase64 + `"}}],"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1293,"totalTokenCount":1297,"promptTokensDetails":[{"modality":"TEXT","tokenCount":4}],` +
		`"candidatesTokensDetails":[{"modality":"TEXT","tokenCount":3},{"modality":"IMAGE","tokenCount":1290}]},"modelVersion":"gemini-2.5-flash-image","responseId":"mock-1"}`
	if r.status != 200 || r.body != want {
		t.Errorf("%d\n got %s\nwant %s", r.status, r.body, want)
	}
	// The JSON-array stream, snake_case config.
	body = `{"contents":[{"role":"user","parts":[{"text":"Draw a cat"}]}],"generation_config":{"response_modalities":["image"]}}`
	r = send(t, url+"/v1beta/models/gemini-2.5-flash-image:streamGenerateContent", body, key...)
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &arr); err != nil || len(arr) != 5 {
		t.Fatalf("stream: %v, %d chunks: %s", err, len(arr), r.body)
	}
	if got := jsonPath(t, string(arr[3]), "candidates.0.content.parts.0.inlineData.data").Str; got != pngBase64 {
		t.Errorf("image chunk %s", arr[3])
	}
	if got := jsonPath(t, string(arr[4]), "usageMetadata.candidatesTokenCount").Int(); got != 1293 {
		t.Errorf("final chunk %s", arr[4])
	}
	// A cut after the image chunk leaves out the final one.
	body = `{"contents":[{"role":"user","parts":[{"text":"Draw a cat [[mock:cut=4]]"}]}],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`
	r = send(t, url+"/v1beta/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse", body, key...)
	if !errors.Is(r.readErr, io.ErrUnexpectedEOF) || strings.Count(r.body, "data: ") != 4 || !strings.Contains(r.body, "inlineData") {
		t.Errorf("cut: %v %s", r.readErr, r.body)
	}
	st := s.Stats(testKey)
	if st.Requests != 3 || st.StreamsCut != 1 || st.CompletionTokens != 2*1293 {
		t.Errorf("stats %+v", st)
	}
}
