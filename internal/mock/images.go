package mock

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// pngImage is the only image the mock ever returns: a valid 1×1 transparent
// PNG (8-bit grey with alpha) of 68 bytes. pngBase64 is its standard base64.
var pngImage = []byte{
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, // signature
	0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, // IHDR
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00,
	0xb5, 0x1c, 0x0c, 0x02,
	0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, // IDAT
	0x78, 0xda, 0x63, 0x64, 0x60, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02,
	0x30, 0x81, 0xd0, 0x2f,
	0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, // IEND
	0xae, 0x42, 0x60, 0x82,
}

const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

// Token figures of the image routes (see doc.go, Images).
const (
	editImageTokens     = 100   // per input image of an OpenAI edit
	geminiImageTokens   = 1290  // one Gemini output image
	seedreamImageTokens = 16384 // one Seedream output image
	maxImages           = 10    // OpenAI's n
	maxSeedreamImages   = 15    // Ark's max_images
)

// gptImageOutput is the output tokens of one GPT image by quality.
func gptImageOutput(quality string) int {
	switch quality {
	case "high":
		return 4000
	case "low":
		return 250
	}
	return 1000 // medium, auto, unset, or a dall-e quality
}

// fileURL is where GET /_mock/files serves the i-th image of a response, on
// the host the request came to.
func (x *exchange) fileURL(i int) string {
	return x.baseURL() + "/_mock/files/image-" + strconv.Itoa(i) + ".png"
}

// serveFile answers GET /_mock/files/image-<i>.png with pngImage and
// GET /_mock/files/video-<n>.mp4 with mp4Video.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	ct, file := "image/png", pngImage
	digits, ok := numberedFile(name, "image-", ".png")
	if !ok {
		ct, file = "video/mp4", mp4Video
		digits, ok = numberedFile(name, "video-", ".mp4")
	}
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		controlError(w, http.StatusNotFound, "unknown file "+name)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		controlError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(file)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(file)
	}
}

// numberedFile cuts prefix and suffix off name.
func numberedFile(name, prefix, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, suffix)
}

// imageRequest is an OpenAI image generation or edit (§4).
type imageRequest struct {
	model   string
	prompt  string
	quality string
	format  string // response_format: "", "url" or "b64_json"
	n       int
	images  int // input images (edits)
}

func (ir *imageRequest) gpt() bool { return strings.HasPrefix(ir.model, "gpt-image") }

// setN reads n, given as a JSON number or a form field.
func (ir *imageRequest) setN(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxImages {
		return "Invalid value for 'n': expected an integer between 1 and " + strconv.Itoa(maxImages) + "."
	}
	ir.n = n
	return ""
}

// check validates what every image request needs.
func (ir *imageRequest) check() string {
	switch {
	case ir.prompt == "":
		return "Missing required parameter: 'prompt'."
	case ir.format != "" && ir.format != "url" && ir.format != "b64_json":
		return "Invalid value for 'response_format': expected 'url' or 'b64_json'."
	}
	if ir.n == 0 {
		ir.n = 1
	}
	return ""
}

// parseImageGeneration reads POST /v1/images/generations (JSON).
func parseImageGeneration(body string) (imageRequest, string) {
	var ir imageRequest
	if !validJSON(body) {
		return ir, badJSON
	}
	var msg string
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			ir.model = v.Str
		case "prompt":
			ir.prompt = v.Str
		case "quality":
			ir.quality = v.Str
		case "response_format":
			ir.format = v.Str
		case "n":
			if v.Type != gjson.Null {
				msg = ir.setN(v.Raw)
			}
		case "stream":
			if v.Type == gjson.True {
				msg = "The mock does not stream images: 'stream' must be false."
			}
		}
		return msg == ""
	})
	if msg != "" {
		return ir, msg
	}
	return ir, ir.check()
}

// parseImageEdit reads POST /v1/images/edits: multipart/form-data with the
// files in `image` or `image[]` (or `image[N]`), or the newer JSON form with
// `images: [{image_url|file_id}]`.
func parseImageEdit(r *http.Request, body string) (imageRequest, string) {
	var ir imageRequest
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return parseImageEditJSON(body)
	}
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return ir, "Invalid Content-Type header: expected multipart/form-data with a boundary."
	}
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ir, "The multipart/form-data body could not be parsed."
		}
		name := p.FormName()
		switch {
		case name == "image" || name == "image[]" || strings.HasPrefix(name, "image[") && strings.HasSuffix(name, "]"):
			if msg := sniffImage(p, name); msg != "" {
				return ir, msg
			}
			ir.images++
		case name == "mask":
			if msg := sniffImage(p, name); msg != "" {
				return ir, msg
			}
		default:
			v, err := io.ReadAll(p)
			if err != nil {
				return ir, "The multipart/form-data body could not be parsed."
			}
			switch name {
			case "model":
				ir.model = string(v)
			case "prompt":
				ir.prompt = string(v)
			case "quality":
				ir.quality = string(v)
			case "response_format":
				ir.format = string(v)
			case "n":
				if msg := ir.setN(strings.TrimSpace(string(v))); msg != "" {
					return ir, msg
				}
			case "stream":
				if string(v) == "true" {
					return ir, "The mock does not stream images: 'stream' must be false."
				}
			}
		}
	}
	if msg := ir.check(); msg != "" {
		return ir, msg
	}
	if ir.images == 0 {
		return ir, "Missing required parameter: 'image'."
	}
	return ir, ""
}

// sniffImage checks that a file part holds a PNG, JPEG or WebP image, by its
// bytes: SDKs send application/octet-stream and any file name.
func sniffImage(p *multipart.Part, name string) string {
	head := make([]byte, 512)
	n, err := io.ReadFull(p, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "The multipart/form-data body could not be parsed."
	}
	if _, err := io.Copy(io.Discard, p); err != nil {
		return "The multipart/form-data body could not be parsed."
	}
	switch ct := http.DetectContentType(head[:n]); ct {
	case "image/png", "image/jpeg", "image/webp":
		return ""
	default:
		return "Invalid file '" + name + "': unsupported mimetype ('" + ct + "'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'."
	}
}

// parseImageEditJSON reads the JSON form of an edit: each element of
// `images` with an image_url or a file_id is one input image.
func parseImageEditJSON(body string) (imageRequest, string) {
	ir, msg := parseImageGeneration(body)
	if msg != "" {
		return ir, msg
	}
	gjson.Get(body, "images").ForEach(func(_, img gjson.Result) bool {
		if img.Get("image_url").Type == gjson.String || img.Get("file_id").Type == gjson.String {
			ir.images++
		}
		return true
	})
	if ir.images == 0 {
		return ir, "Missing required parameter: 'images'."
	}
	return ir, ""
}

func handleImageGenerations(x *exchange, _, body string) {
	ir, msg := parseImageGeneration(body)
	serveImages(x, &ir, msg)
}

func handleImageEdits(x *exchange, _, body string) {
	ir, msg := parseImageEdit(x.r, body)
	serveImages(x, &ir, msg)
}

// serveImages answers an OpenAI image request: n copies of pngImage, as
// base64 or as URLs of GET /_mock/files, with usage for GPT image models.
func serveImages(x *exchange, ir *imageRequest, msg string) {
	if msg != "" {
		x.badRequest(msg)
		return
	}
	if !x.begin(parseDirectives(ir.prompt)) {
		return
	}
	gpt := ir.gpt()
	b64 := ir.format == "b64_json" || ir.format == "" && gpt
	revised := strings.HasPrefix(ir.model, "dall-e-3")
	b := getBuf()
	b = append(b, `{"created":`...)
	b = appendInt(b, int(x.now().Unix()))
	b = append(b, `,"data":[`...)
	for i := range ir.n {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendImage(b, x, i, b64)
		if revised {
			b = appendField(b, "revised_prompt", ir.prompt)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	var u usage
	if gpt {
		text, img := countWords(ir.prompt), editImageTokens*ir.images
		u = usage{prompt: text + img, output: gptImageOutput(ir.quality) * ir.n}
		b = append(b, `,"usage":{"input_tokens":`...)
		b = appendInt(b, u.prompt)
		b = appendIntField(b, "output_tokens", u.output)
		b = appendIntField(b, "total_tokens", u.total())
		b = append(b, `,"input_tokens_details":{"text_tokens":`...)
		b = appendInt(b, text)
		b = appendIntField(b, "image_tokens", img)
		b = append(b, "}}"...)
	}
	b = append(b, '}')
	x.ok(b, u)
	putBuf(b)
}

// appendImage opens a data item with the image as b64_json or url; the
// caller closes it.
func appendImage(b []byte, x *exchange, i int, b64 bool) []byte {
	if b64 {
		b = append(b, `{"b64_json":"`...)
		b = append(b, pngBase64...)
		return append(b, '"')
	}
	b = append(b, `{"url":`...)
	return appendString(b, x.fileURL(i))
}

// seedreamRequest is Ark's POST /api/v3/images/generations (§9.2).
type seedreamRequest struct {
	model  string
	prompt string
	size   string // as echoed in the response
	n      int
	b64    bool
}

// seedreamSizes maps Seedream's resolution presets to the size echoed.
var seedreamSizes = map[string]string{"1K": "1024x1024", "2K": "2048x2048", "4K": "4096x4096"}

const defaultSeedreamSize = "2048x2048"

// seedreamSize resolves a size: a preset, "WxH" with positive integers
// (echoed as given), or "" for the default.
func seedreamSize(s string) (string, bool) {
	if s == "" {
		return defaultSeedreamSize, true
	}
	if v, ok := seedreamSizes[strings.ToUpper(s)]; ok {
		return v, true
	}
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return "", false
	}
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	return s, err1 == nil && err2 == nil && wi > 0 && hi > 0
}

func arkInvalid(param string) string {
	return "The parameter `" + param + "` specified in the request is not valid."
}

func arkMissing(param string) string {
	return "The parameter `" + param + "` specified in the request is missing."
}

func parseSeedream(body string) (seedreamRequest, string) {
	var sr seedreamRequest
	if !validJSON(body) {
		return sr, badJSON
	}
	var size, sequential, format string
	maxImg := 0
	var msg string
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			sr.model = v.Str
		case "prompt":
			sr.prompt = v.Str
		case "image":
			switch {
			case v.Type == gjson.String && v.Str != "":
			case v.IsArray():
				v.ForEach(func(_, img gjson.Result) bool {
					if img.Type != gjson.String || img.Str == "" {
						msg = arkInvalid("image")
					}
					return msg == ""
				})
			case v.Type != gjson.Null:
				msg = arkInvalid("image")
			}
		case "size":
			size = v.Str
			if v.Type != gjson.String && v.Type != gjson.Null {
				msg = arkInvalid("size")
			}
		case "sequential_image_generation":
			sequential = v.Str
		case "sequential_image_generation_options":
			if m := v.Get("max_images"); m.Exists() {
				if maxImg = int(m.Int()); m.Type != gjson.Number || float64(maxImg) != m.Num || maxImg < 1 || maxImg > maxSeedreamImages {
					msg = arkInvalid("sequential_image_generation_options.max_images")
				}
			}
		case "response_format":
			format = v.Str
		case "stream":
			if v.Type == gjson.True {
				msg = "The mock does not stream images: the parameter `stream` must be false."
			}
		}
		return msg == ""
	})
	switch {
	case msg != "":
		return sr, msg
	case sr.model == "":
		return sr, arkMissing("model")
	case sr.prompt == "":
		return sr, arkMissing("prompt")
	case sequential != "" && sequential != "auto" && sequential != "disabled":
		return sr, arkInvalid("sequential_image_generation")
	case format != "" && format != "url" && format != "b64_json":
		return sr, arkInvalid("response_format")
	}
	var ok bool
	if sr.size, ok = seedreamSize(size); !ok {
		return sr, arkInvalid("size")
	}
	sr.b64 = format == "b64_json"
	sr.n = 1
	if sequential == "auto" && maxImg > 0 {
		sr.n = maxImg
	}
	return sr, ""
}

// handleSeedream answers Ark's image generation with n copies of pngImage.
func handleSeedream(x *exchange, _, body string) {
	sr, msg := parseSeedream(body)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	if !x.begin(parseDirectives(sr.prompt)) {
		return
	}
	u := usage{output: seedreamImageTokens * sr.n}
	b := getBuf()
	b = append(b, `{"model":`...)
	b = appendString(b, sr.model)
	b = appendIntField(b, "created", int(x.now().Unix()))
	b = append(b, `,"data":[`...)
	for i := range sr.n {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendImage(b, x, i, sr.b64)
		b = appendField(b, "size", sr.size)
		b = append(b, '}')
	}
	b = append(b, `],"usage":{"generated_images":`...)
	b = appendInt(b, sr.n)
	b = appendIntField(b, "output_tokens", u.output)
	b = appendIntField(b, "total_tokens", u.total())
	b = append(b, "}}"...)
	x.ok(b, u)
	putBuf(b)
}

// appendInlineImage appends a Gemini inlineData part holding pngImage.
func appendInlineImage(b []byte) []byte {
	b = append(b, `{"inlineData":{"mimeType":"image/png","data":"`...)
	b = append(b, pngBase64...)
	return append(b, `"}}`...)
}

// geminiImageWords is the length of the text part before a Gemini image.
const geminiImageWords = 3

// imageReply turns a text reply into Gemini's image output: the first
// geminiImageWords reply words, then one image of geminiImageTokens. A tool
// call stays a tool call.
func (r *reply) imageReply() {
	if r.call != nil {
		return
	}
	if r.words > geminiImageWords {
		r.words, r.finish = geminiImageWords, finishStop
		r.text = replyText(r.words)
	}
	r.usage.output = r.words + geminiImageTokens
	r.usage.image = geminiImageTokens
}
