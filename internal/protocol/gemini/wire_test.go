package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genai"
)

// strictDecode decodes JSON into v refusing unknown fields, so a misspelt
// member fails the test instead of being silently ignored by the SDK.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkUpstreamRequest decodes a BuildRequest body with go-genai's own
// types. The placeholder signature is valid base64url, which the server
// accepts for bytes fields but encoding/json does not, so it is swapped.
func checkUpstreamRequest(t *testing.T, body []byte) {
	t.Helper()
	body = bytes.ReplaceAll(body, []byte(`"`+skipSignature+`"`), []byte(`"c2tpcA=="`))
	var req struct {
		Contents          []*genai.Content        `json:"contents"`
		SystemInstruction *genai.Content          `json:"systemInstruction"`
		Tools             []*genai.Tool           `json:"tools"`
		ToolConfig        *genai.ToolConfig       `json:"toolConfig"`
		GenerationConfig  *genai.GenerationConfig `json:"generationConfig"`
	}
	if err := strictDecode(body, &req); err != nil {
		t.Errorf("go-genai types reject the request: %v\n%s", err, body)
	}
	for i, c := range req.Contents {
		if c.Role != genai.RoleUser && c.Role != genai.RoleModel {
			t.Errorf("contents[%d].role = %q", i, c.Role)
		}
		if len(c.Parts) == 0 {
			t.Errorf("contents[%d] has no parts", i)
		}
	}
}

// chunkJSON mirrors genai.GenerateContentResponse without its custom
// UnmarshalJSON, which would hide unknown fields from strictDecode.
type chunkJSON struct {
	Candidates     []*genai.Candidate                           `json:"candidates"`
	UsageMetadata  *genai.GenerateContentResponseUsageMetadata  `json:"usageMetadata"`
	PromptFeedback *genai.GenerateContentResponsePromptFeedback `json:"promptFeedback"`
	ModelVersion   string                                       `json:"modelVersion"`
	ResponseID     string                                       `json:"responseId"`
}

// checkClientChunk decodes a response or stream payload as go-genai would.
func checkClientChunk(t *testing.T, payload []byte) chunkJSON {
	t.Helper()
	var c chunkJSON
	if err := strictDecode(payload, &c); err != nil {
		t.Errorf("go-genai types reject %s: %v", payload, err)
	}
	if c.ModelVersion != testMeta.Model || c.ResponseID != testMeta.ID {
		t.Errorf("identity = %q/%q, want %q/%q", c.ModelVersion, c.ResponseID, testMeta.Model, testMeta.ID)
	}
	if len(c.Candidates) != 1 || c.Candidates[0].Content == nil || c.Candidates[0].Content.Role != genai.RoleModel {
		t.Errorf("want one candidate with role model: %s", payload)
	}
	return c
}

// checkFrames enforces go-genai's framing: every block is exactly
// "data: <one-line JSON>" followed by a blank line, and each payload is a
// response (or the error envelope).
func checkFrames(t *testing.T, out []byte) {
	t.Helper()
	if len(out) == 0 {
		t.Fatal("no frames")
	}
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Errorf("stream does not end with a blank line: %q", out)
	}
	frames := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
	for i, f := range frames {
		payload, ok := strings.CutPrefix(f, "data: ")
		if !ok || strings.ContainsAny(payload, "\r\n") {
			t.Fatalf("frame %d is not one data line: %q", i, f)
		}
		if !json.Valid([]byte(payload)) {
			t.Fatalf("frame %d is not JSON: %q", i, payload)
		}
		if strings.HasPrefix(payload, `{"error":`) {
			if i != len(frames)-1 {
				t.Errorf("error frame %d is not the last", i)
			}
			var e struct {
				Error *genai.APIError `json:"error"`
			}
			if err := strictDecode([]byte(payload), &e); err != nil || e.Error == nil || e.Error.Code == 0 {
				t.Errorf("bad error frame %q: %v", payload, err)
			}
			continue
		}
		checkClientChunk(t, []byte(payload))
	}
}
