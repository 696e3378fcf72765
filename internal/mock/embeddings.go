package mock

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"
	"strconv"

	"github.com/tidwall/gjson"
)

const (
	defaultDimensions = 1536
	maxDimensions     = 4096
)

// embeddingRequest is POST /v1/embeddings (§6).
type embeddingRequest struct {
	model  string
	inputs []gjson.Result // each a string or an array of token ids
	base64 bool
	dims   int
	tokens int
}

func parseEmbeddings(body string) (embeddingRequest, string) {
	var e embeddingRequest
	if !validJSON(body) {
		return e, badJSON
	}
	var input gjson.Result
	format := ""
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			e.model = v.Str
		case "input":
			input = v
		case "encoding_format":
			format = v.Str
		case "dimensions":
			e.dims = parseInt(v)
			if e.dims == 0 {
				e.dims = -1
			}
		}
		return true
	})
	switch {
	case e.model == "":
		return e, "You must provide a model parameter."
	case format != "" && format != "float" && format != "base64":
		return e, "Invalid value for 'encoding_format': expected 'float' or 'base64'."
	case e.dims < 0 || e.dims > maxDimensions:
		return e, "Invalid value for 'dimensions': expected 1 to " + strconv.Itoa(maxDimensions) + "."
	}
	e.base64 = format == "base64"
	if e.dims == 0 {
		e.dims = defaultDimensions
	}
	switch {
	case input.Type == gjson.String:
		e.inputs = []gjson.Result{input}
	case input.IsArray():
		arr := input.Array()
		if len(arr) > 0 && arr[0].Type == gjson.Number { // one input of token ids
			e.inputs = []gjson.Result{input}
		} else {
			e.inputs = arr
		}
	}
	if len(e.inputs) == 0 {
		return e, "Missing required parameter: 'input'."
	}
	for _, in := range e.inputs {
		switch {
		case in.Type == gjson.String:
			e.tokens += countWords(in.Str)
		case in.IsArray():
			e.tokens += len(in.Array())
		default:
			return e, "Invalid value for 'input': expected a string, strings, or arrays of token ids."
		}
	}
	return e, ""
}

func handleEmbeddings(x *exchange, _, body string) {
	e, msg := parseEmbeddings(body)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	if !x.begin(directives{}) {
		return
	}
	vec := make([]float32, e.dims)
	b := getBuf()
	b = append(b, `{"object":"list","data":[`...)
	for i, in := range e.inputs {
		if i > 0 {
			b = append(b, ',')
		}
		embed(vec, in.Raw)
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, i)
		b = append(b, `,"embedding":`...)
		if e.base64 {
			b = appendBase64(b, vec)
		} else {
			b = appendFloats(b, vec)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendField(b, "model", e.model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, e.tokens)
	b = appendIntField(b, "total_tokens", e.tokens)
	b = append(b, "}}"...)
	x.ok(b, usage{prompt: e.tokens})
	putBuf(b)
}

// embed fills vec with a unit vector determined by the input's JSON text, so
// the same input always embeds the same way and different inputs differ.
func embed(vec []float32, raw string) {
	h := fnv.New64a()
	h.Write([]byte(raw))
	state := h.Sum64()
	var norm float64
	for i := range vec {
		// splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/(1<<53)*2 - 1
		vec[i] = float32(f)
		norm += f * f
	}
	if norm == 0 {
		return
	}
	inv := 1 / math.Sqrt(norm)
	for i := range vec {
		vec[i] = float32(float64(vec[i]) * inv)
	}
}

func appendFloats(b []byte, vec []float32) []byte {
	b = append(b, '[')
	for i, f := range vec {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return append(b, ']')
}

// appendBase64 appends the vector as a JSON string of standard base64 over
// little-endian float32s, as OpenAI sends for encoding_format "base64".
func appendBase64(b []byte, vec []float32) []byte {
	raw := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"')
}

// openaiModels is the catalogue of GET /v1/models.
var openaiModels = []string{"gpt-4o", "gpt-4o-mini", "gpt-5", "gpt-5-mini", "o4-mini", "text-embedding-3-small", "text-embedding-3-large"}

// modelCreated is the fixed creation time of every listed model.
const modelCreated = 1700000000

func appendOpenAIModel(b []byte, id string) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = appendInt(b, modelCreated)
	return append(b, `,"owned_by":"tokenhot-mock"}`...)
}

// handleOpenAIModels lists the models, or with an id returns that one: the
// mock serves any model id, so every id exists.
func handleOpenAIModels(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	b := getBuf()
	if id != "" {
		b = appendOpenAIModel(b, id)
	} else {
		b = append(b, `{"object":"list","data":[`...)
		for i, m := range openaiModels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendOpenAIModel(b, m)
		}
		b = append(b, "]}"...)
	}
	x.ok(b, usage{})
	putBuf(b)
}
