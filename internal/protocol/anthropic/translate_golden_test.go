package anthropic

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// testMeta is how the gateway presents every answer in the goldens.
var testMeta = llm.Meta{ID: "msg_gw_0001", Model: "claude-sonnet-4-5", Created: 1767225600}

func caseName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// TestParseRequestGolden: client request in → llm.Request.
func TestParseRequestGolden(t *testing.T) {
	for _, in := range goldenCases(t, "parse_request", "json") {
		t.Run(caseName(in), func(t *testing.T) {
			parse := ParseRequest
			if strings.HasPrefix(caseName(in), "count_") {
				parse = ParseCountRequest
			}
			r, err := parse(readFile(t, in))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, goldenPath(in, "json"), marshalIndent(t, viewRequest(r)))
		})
	}
}

// TestBuildRequestGolden: llm.Request in → upstream request body.
func TestBuildRequestGolden(t *testing.T) {
	for _, in := range goldenCases(t, "build_request", "json") {
		t.Run(caseName(in), func(t *testing.T) {
			var v requestView
			if err := json.Unmarshal(readFile(t, in), &v); err != nil {
				t.Fatal(err)
			}
			body, err := BuildRequest(v.request(t))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, goldenPath(in, "json"), indentJSON(t, body))
		})
	}
}

// TestParseResponseGolden: upstream answer in → llm.Response.
func TestParseResponseGolden(t *testing.T) {
	for _, in := range goldenCases(t, "parse_response", "json") {
		t.Run(caseName(in), func(t *testing.T) {
			r, err := ParseResponse(readFile(t, in))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, goldenPath(in, "json"), marshalIndent(t, viewResponse(r)))
		})
	}
}

// TestBuildResponseGolden: llm.Response in → client answer.
func TestBuildResponseGolden(t *testing.T) {
	for _, in := range goldenCases(t, "build_response", "json") {
		t.Run(caseName(in), func(t *testing.T) {
			var v responseView
			if err := json.Unmarshal(readFile(t, in), &v); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, goldenPath(in, "json"), indentJSON(t, BuildResponse(v.response(t), testMeta)))
		})
	}
}
