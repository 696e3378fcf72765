// Package images translates OpenAI's image API — POST /v1/images/generations
// (JSON) and POST /v1/images/edits (multipart) — to and from the upstreams
// that generate images: OpenAI itself (gpt-image, DALL·E), Volcengine Ark's
// Seedream (/api/v3/images/generations, where editing is generation with
// reference images) and Gemini image models (generateContent with image
// output). The functions are pure.
package images

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Image is one input image (or mask) of an edit.
type Image struct {
	Name string // file name as sent
	MIME string
	Data []byte
}

// Request is an image generation or edit as the client asked for it.
type Request struct {
	Model          string
	Prompt         string
	N              int64
	Size           string
	Quality        string
	ResponseFormat string // "url", "b64_json" or "" (the model's default)
	Images         []Image
	Mask           *Image
	// Body is the client's JSON body (generations), forwarded as it is to
	// an upstream that speaks the same API; nil for edits.
	Body []byte
	// Fields are an edit's other text fields, passed on to OpenAI.
	Fields map[string]string
}

func invalid(param, format string, args ...any) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Param: param, Message: fmt.Sprintf(format, args...)}
}

// ParseGeneration reads a generations request.
func ParseGeneration(body []byte) (*Request, error) {
	if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return nil, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body must be a JSON object")
	}
	r := &Request{Body: body, N: 1}
	root := gjson.ParseBytes(body)
	if m := root.Get("model"); m.Type != gjson.String || m.Str == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "model",
			Message: "you must provide a model parameter (a non-empty string)"}
	} else {
		r.Model = m.Str
	}
	if p := root.Get("prompt"); p.Type != gjson.String || p.Str == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "prompt",
			Message: "you must provide a prompt (a non-empty string)"}
	} else {
		r.Prompt = p.Str
	}
	if n := root.Get("n"); n.Exists() && n.Type != gjson.Null {
		if n.Type != gjson.Number || n.Num < 1 || n.Num > 10 || n.Num != float64(int64(n.Num)) {
			return nil, invalid("n", "'n' must be an integer from 1 to 10")
		}
		r.N = n.Int()
	}
	if root.Get("stream").Type == gjson.True {
		return nil, invalid("stream", "streamed image generation is not supported; send stream: false")
	}
	r.Size, r.Quality, r.ResponseFormat = root.Get("size").Str, root.Get("quality").Str, root.Get("response_format").Str
	for _, ref := range root.Get("image").Array() { // Seedream's reference images, passed as URLs
		if ref.Type == gjson.String {
			r.Images = append(r.Images, Image{Name: ref.Str})
		}
	}
	return r, nil
}

// ParseEdit reads a multipart edits request: image or image[] (one or
// several files), an optional mask and the text fields.
func ParseEdit(body []byte, contentType string) (*Request, error) {
	boundary := ""
	if i := strings.Index(contentType, "boundary="); i >= 0 {
		boundary = strings.Trim(contentType[i+len("boundary="):], `"`)
	}
	if !strings.HasPrefix(contentType, "multipart/form-data") || boundary == "" {
		return nil, invalid("", "image edits must be sent as multipart/form-data")
	}
	r := &Request{N: 1, Fields: map[string]string{}}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("", "the multipart body could not be read: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, invalid(p.FormName(), "the part could not be read: %v", err)
		}
		name := p.FormName()
		switch {
		case name == "image" || name == "image[]":
			r.Images = append(r.Images, Image{Name: p.FileName(), MIME: http.DetectContentType(data), Data: data})
		case name == "mask":
			r.Mask = &Image{Name: p.FileName(), MIME: http.DetectContentType(data), Data: data}
		default:
			r.Fields[name] = string(data)
		}
	}
	r.Model, r.Prompt = r.Fields["model"], r.Fields["prompt"]
	r.Size, r.Quality, r.ResponseFormat = r.Fields["size"], r.Fields["quality"], r.Fields["response_format"]
	delete(r.Fields, "model")
	if r.Model == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "model",
			Message: "you must provide a model parameter"}
	}
	if r.Prompt == "" {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "prompt",
			Message: "you must provide a prompt"}
	}
	if len(r.Images) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "image",
			Message: "you must provide at least one image (the image or image[] field)"}
	}
	for _, im := range r.Images {
		if !strings.HasPrefix(im.MIME, "image/") {
			return nil, invalid("image", "the file %q is not an image (%s)", im.Name, im.MIME)
		}
	}
	if n := r.Fields["n"]; n != "" {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < 1 || v > 10 {
			return nil, invalid("n", "'n' must be an integer from 1 to 10")
		}
		r.N = v
	}
	if r.Fields["stream"] == "true" {
		return nil, invalid("stream", "streamed image editing is not supported; send stream: false")
	}
	return r, nil
}

// OpenAIGeneration is the generations body for an OpenAI-protocol
// upstream: the client's, with the upstream's model name.
func OpenAIGeneration(r *Request, model string) ([]byte, error) {
	return sjson.SetBytes(r.Body, "model", model)
}

// OpenAIEdit is the multipart edits body for an OpenAI-protocol upstream
// and its content type.
func OpenAIEdit(r *Request, model string) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("model", model)
	for k, v := range r.Fields {
		_ = mw.WriteField(k, v)
	}
	field := "image"
	if len(r.Images) > 1 {
		field = "image[]"
	}
	write := func(name string, im Image) error {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, name, escapeQuotes(orName(im.Name))))
		h.Set("Content-Type", im.MIME)
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		_, err = w.Write(im.Data)
		return err
	}
	for _, im := range r.Images {
		if err := write(field, im); err != nil {
			return nil, "", err
		}
	}
	if r.Mask != nil {
		if err := write("mask", *r.Mask); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

func orName(s string) string {
	if s == "" {
		return "image.png"
	}
	return s
}

func escapeQuotes(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

// dataURL is an input image as a data URL (or, for a reference that came
// as a URL, that URL).
func dataURL(im Image) string {
	if im.Data == nil {
		return im.Name
	}
	return llm.DataURL(im.MIME, base64.StdEncoding.EncodeToString(im.Data))
}

// ArkGeneration is the Seedream body: the client's own Seedream fields
// (image, size like "2K", sequential_image_generation, watermark, ...) pass
// through; an OpenAI n > 1 becomes a sequential generation of n images;
// an edit's images become reference images.
func ArkGeneration(r *Request, model string) ([]byte, error) {
	var body []byte
	var err error
	if r.Body != nil {
		body, err = sjson.SetBytes(r.Body, "model", model)
		if err == nil {
			body, err = sjson.DeleteBytes(body, "n")
		}
		for _, k := range []string{"quality", "style", "background", "moderation", "output_compression", "user"} {
			if err == nil {
				body, err = sjson.DeleteBytes(body, k)
			}
		}
	} else {
		m := map[string]any{"model": model, "prompt": r.Prompt}
		if r.Size != "" {
			m["size"] = r.Size
		}
		if r.ResponseFormat != "" {
			m["response_format"] = r.ResponseFormat
		}
		var refs []string
		for _, im := range r.Images {
			refs = append(refs, dataURL(im))
		}
		m["image"] = refs
		body, err = json.Marshal(m)
	}
	if err == nil && r.N > 1 {
		body, err = sjson.SetBytes(body, "sequential_image_generation", "auto")
		if err == nil {
			body, err = sjson.SetBytes(body, "sequential_image_generation_options.max_images", r.N)
		}
	}
	return body, err
}

// aspectRatios are the ratios Gemini image models take, by OpenAI size.
var aspectRatios = map[string]string{
	"1024x1024": "1:1", "1536x1024": "3:2", "1024x1536": "2:3", "1792x1024": "16:9", "1024x1792": "9:16",
	"256x256": "1:1", "512x512": "1:1",
}

// GeminiGeneration is the generateContent body for a Gemini image model:
// the prompt and any input images as parts, image output asked for.
func GeminiGeneration(r *Request) ([]byte, error) {
	parts := []map[string]any{{"text": r.Prompt}}
	for _, im := range r.Images {
		if im.Data == nil {
			mime, data, ok := llm.ParseDataURL(im.Name)
			if !ok {
				return nil, invalid("image", "reference images for this model must be data URLs or uploaded files")
			}
			parts = append(parts, map[string]any{"inlineData": map[string]any{"mimeType": mime, "data": data}})
			continue
		}
		parts = append(parts, map[string]any{"inlineData": map[string]any{"mimeType": im.MIME,
			"data": base64.StdEncoding.EncodeToString(im.Data)}})
	}
	cfg := map[string]any{"responseModalities": []string{"IMAGE"}}
	if ar, ok := aspectRatios[r.Size]; ok {
		cfg["imageConfig"] = map[string]any{"aspectRatio": ar}
	} else if r.Size == "1K" || r.Size == "2K" || r.Size == "4K" {
		cfg["imageConfig"] = map[string]any{"imageSize": r.Size}
	}
	if r.N > 1 {
		cfg["candidateCount"] = r.N
	}
	return json.Marshal(map[string]any{
		"contents":         []any{map[string]any{"role": "user", "parts": parts}},
		"generationConfig": cfg,
	})
}

// Result is an upstream's answer in OpenAI's terms.
type Result struct {
	Created int64
	Data    []json.RawMessage // the items: {"b64_json"|"url", "revised_prompt"?, "size"?}
	Usage   llm.Usage
	// HasUsage is set when the upstream reported tokens.
	HasUsage bool
}

// Images is the number of images generated.
func (r *Result) Images() int64 { return int64(len(r.Data)) }

func badAnswer(err error) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_response", Message: "the upstream's image answer could not be read", Cause: err}
}

// FromOpenAI reads an OpenAI images answer (also Seedream's, which has the
// same data array and reports generated_images and output tokens).
func FromOpenAI(body []byte) (*Result, error) {
	if !gjson.ValidBytes(body) {
		return nil, badAnswer(fmt.Errorf("not JSON: %.200s", body))
	}
	root := gjson.ParseBytes(body)
	if e := root.Get("error"); e.IsObject() {
		return nil, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream failed to generate the image",
			Cause: fmt.Errorf("%s", e.Raw)}
	}
	res := &Result{Created: root.Get("created").Int()}
	for _, d := range root.Get("data").Array() {
		res.Data = append(res.Data, json.RawMessage(d.Raw))
	}
	if u := root.Get("usage"); u.IsObject() {
		in := u.Get("input_tokens").Int()
		out := u.Get("output_tokens").Int()
		if in > 0 || out > 0 {
			res.Usage = llm.Usage{Input: in, Output: out}
			res.HasUsage = true
		}
	}
	return res, nil
}

// FromGemini reads a generateContent answer: every inlineData image part of
// every candidate becomes one b64_json item.
func FromGemini(body []byte) (*Result, error) {
	if !gjson.ValidBytes(body) {
		return nil, badAnswer(fmt.Errorf("not JSON: %.200s", body))
	}
	root := gjson.ParseBytes(body)
	res := &Result{}
	for _, c := range root.Get("candidates").Array() {
		for _, p := range c.Get("content.parts").Array() {
			d := p.Get("inlineData")
			if !d.Exists() {
				d = p.Get("inline_data")
			}
			if d.Exists() && strings.HasPrefix(d.Get("mimeType").Str+d.Get("mime_type").Str, "image/") {
				item, _ := json.Marshal(map[string]string{"b64_json": d.Get("data").Str})
				res.Data = append(res.Data, item)
			}
		}
	}
	if len(res.Data) == 0 {
		reason := root.Get("promptFeedback.blockReason").Str + root.Get("candidates.0.finishReason").Str
		return nil, &llm.Error{Kind: llm.KindUpstreamClient, Status: http.StatusBadRequest, Code: "no_image",
			Message: "the model returned no image (" + reason + ")"}
	}
	if u := root.Get("usageMetadata"); u.IsObject() {
		res.Usage = llm.Usage{Input: u.Get("promptTokenCount").Int(),
			Output: u.Get("candidatesTokenCount").Int(), Reasoning: u.Get("thoughtsTokenCount").Int()}
		res.HasUsage = true
	}
	return res, nil
}

// Response is the OpenAI images answer for a result.
func Response(r *Result, created int64) []byte {
	out := []byte(`{"created":`)
	out = strconv.AppendInt(out, created, 10)
	out = append(out, `,"data":[`...)
	for i, d := range r.Data {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, d...)
	}
	out = append(out, ']')
	if r.HasUsage {
		out = append(out, `,"usage":{"input_tokens":`...)
		out = strconv.AppendInt(out, r.Usage.PromptTokens(), 10)
		out = append(out, `,"output_tokens":`...)
		out = strconv.AppendInt(out, r.Usage.CompletionTokens(), 10)
		out = append(out, `,"total_tokens":`...)
		out = strconv.AppendInt(out, r.Usage.Total(), 10)
		out = append(out, '}')
	}
	return append(out, '}')
}
