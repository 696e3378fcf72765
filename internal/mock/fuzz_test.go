package mock

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// fuzzRoutes are the endpoints that parse a body, with the headers they need.
var fuzzRoutes = []struct {
	path    string
	headers []string
}{
	{"/v1/chat/completions", bearerAuth(testKey)},
	{"/api/v3/chat/completions", bearerAuth(testKey)},
	{"/v1/responses", bearerAuth(testKey)},
	{"/v1/embeddings", bearerAuth(testKey)},
	{"/v1/messages", []string{"x-api-key", testKey, "anthropic-version", "2023-06-01"}},
	{"/v1/messages/count_tokens", []string{"x-api-key", testKey, "anthropic-version", "2023-06-01"}},
	{"/v1beta/models/g:generateContent", []string{"x-goog-api-key", testKey}},
	{"/v1beta/models/g:streamGenerateContent?alt=sse", []string{"x-goog-api-key", testKey}},
	{"/v1beta/models/g:countTokens", []string{"x-goog-api-key", testKey}},
	{"/v1/images/generations", bearerAuth(testKey)},
	{"/v1/images/edits", []string{"Authorization", "Bearer " + testKey, "Content-Type", "application/json"}},
	{"/api/v3/images/generations", bearerAuth(testKey)},
	{"/v1/videos", bearerAuth(testKey)},
	{"/v1/videos", []string{"Authorization", "Bearer " + testKey, "Content-Type", "multipart/form-data; boundary=b"}},
	{"/api/v3/contents/generations/tasks", bearerAuth(testKey)},
}

// FuzzRequest sends arbitrary bodies to every parsing endpoint and checks
// that the mock answers 200 or an error status with a JSON body, or a stream
// whose every event is JSON, and never panics (other than a cut stream's
// deliberate abort). It runs in a synctest bubble, so [[mock:delay=1h]] in a
// fuzzed prompt costs nothing.
func FuzzRequest(f *testing.F) {
	for _, pc := range protocols {
		for _, stream := range []bool{false, true} {
			_, body := pc.request("What is the weather? [[mock:tool]]", stream)
			f.Add(uint8(0), body)
		}
	}
	f.Add(uint8(0), `{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"a\u2028b [[mock:cut=1]]"}]}],"tools":[{"type":"function","function":{"name":"f\"x","parameters":{"required":["a.b","c",1],"properties":{"a.b":{"enum":[{"x":[1]}]},"c":{"type":["null","boolean"]}}}}}],"tool_choice":"required"}`)
	f.Add(uint8(3), `{"model":"m","input":[[1,2],[3]],"encoding_format":"base64","dimensions":8}`)
	f.Add(uint8(4), `{"model":"m","max_tokens":2,"system":[{"type":"text","text":"s"}],"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}]}`)
	f.Add(uint8(6), `{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{"a":["b c"]}}}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}},"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}}`)
	f.Add(uint8(7), "{\"contents\":[{\"parts\":[{\"text\":\"weather\"}]}],\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\",\"parameters\":{\"required\":[\"a\"],\"properties\":{\"a\":{\"enum\":[{\"x\" :\n [ 1 ,\t\"y z\\\" \"]}]}}}}]}]}")
	f.Add(uint8(2), "{\"model\":\"m\",\"stream\":true,\"input\":\"x\",\n \"tools\": [\n {\"type\": \"function\", \"name\": \"f\"}\n ],\n \"tool_choice\": {\n\"type\":\"function\",\"name\":\"f\"}}")
	f.Add(uint8(7), `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseModalities":["TEXT","IMAGE"],"maxOutputTokens":2}}`)
	f.Add(uint8(9), `{"model":"dall-e-3","prompt":"a \"fox\"","n":2,"quality":"high"}`)
	f.Add(uint8(10), `{"model":"gpt-image-1","prompt":"x","images":[{"image_url":"data:,"},{"file_id":"f"}]}`)
	f.Add(uint8(11), `{"model":"m","prompt":"p","image":["u"],"size":"2x3","sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":15},"response_format":"b64_json"}`)
	f.Add(uint8(12), `{"model":"sora-2","prompt":"p [[mock:fail]]","seconds":8,"size":"1x2","input_reference":{"image_url":"u"}}`)
	f.Add(uint8(13), "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np\r\n--b\r\nContent-Disposition: form-data; name=\"seconds\"\r\n\r\n12\r\n--b--\r\n")
	f.Add(uint8(14), `{"model":"m","content":[{"type":"text","text":"p --rs 480p --dur 3 --seed 9"},{"type":"image_url","image_url":{"url":"u"},"role":"first_frame"}],"duration":4,"return_last_frame":true,"generate_audio":false}`)
	f.Add(uint8(8), `{"generateContentRequest":{"contents":[{"parts":[{"text":"x"}]}],"systemInstruction":{"parts":[{"text":"y"}]}}}`)

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		synctest.Test(t, func(t *testing.T) {
			s := New(Options{Chunks: 3})
			req := httptest.NewRequest(http.MethodPost, rt.path, strings.NewReader(body))
			for i := 0; i+1 < len(rt.headers); i += 2 {
				req.Header.Set(rt.headers[i], rt.headers[i+1])
			}
			rec := httptest.NewRecorder()
			serveAllowingCut(s, rec, req)
			checkResponse(t, rec)
		})
	})
}

// serveAllowingCut serves the request, recovering the abort of a cut stream.
func serveAllowingCut(s *Server, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			panic(v)
		}
	}()
	s.ServeHTTP(w, r)
}

func checkResponse(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/json":
		if !json.Valid([]byte(body)) {
			t.Fatalf("status %d, body is not JSON: %s", rec.Code, body)
		}
	case "text/event-stream":
		for _, block := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
			for line := range strings.SplitSeq(block, "\n") {
				data, ok := strings.CutPrefix(line, "data: ")
				if ok && data != "[DONE]" && !json.Valid([]byte(data)) {
					t.Fatalf("event data is not JSON: %s", data)
				}
			}
		}
	default:
		t.Fatalf("status %d, Content-Type %q", rec.Code, ct)
	}
}

// FuzzCountWords checks countWords against strings.Fields.
func FuzzCountWords(f *testing.F) {
	for _, s := range []string{"", " a  b\t", "\u00a0x\u2003y\u0085", "\xff \xfe", "日本 語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := countWords(s), len(strings.Fields(s)); got != want {
			t.Errorf("countWords(%q) = %d, strings.Fields has %d", s, got, want)
		}
	})
}

// FuzzAppendString checks that appendString writes JSON that decodes to what
// encoding/json would: the same string, with each invalid UTF-8 byte
// replaced by U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", `a"b\c`, "\x00\x1f\n\t", "\u2028<>&", "\xff", "\x90\xca"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, b, err)
		}
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("appendString(%q) decodes to %q, encoding/json to %q", s, got, want)
		}
	})
}
