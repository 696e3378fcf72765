package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// The llm types marshal their kinds as numbers and every zero field; the
// goldens name the kinds and leave zero fields out, so that they can be
// read and written by hand. Both directions go through these tables.

var partKinds = map[string]string{
	num(llm.PartText): "text", num(llm.PartImage): "image", num(llm.PartFile): "file",
	num(llm.PartThinking): "thinking", num(llm.PartRedactedThinking): "redacted_thinking",
	num(llm.PartToolCall): "tool_call", num(llm.PartToolResult): "tool_result",
}

var eventKinds = map[string]string{
	num(llm.EventText): "text", num(llm.EventThinking): "thinking", num(llm.EventSignature): "signature",
	num(llm.EventRedactedThinking): "redacted_thinking", num(llm.EventToolCall): "tool_call",
	num(llm.EventToolArgs): "tool_args", num(llm.EventUsage): "usage", num(llm.EventStop): "stop",
	num(llm.EventError): "error",
}

var errorKinds = func() map[string]string {
	m := map[string]string{}
	for k := llm.KindInternal; k <= llm.KindUpstreamClient; k++ {
		m[num(k)] = k.String()
	}
	return m
}()

func num[K ~uint8 | ~int](k K) string { return strconv.Itoa(int(k)) }

// decode unmarshals keeping numbers exact (seeds exceed float64).
func decode(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return tree
}

// childKinds is the table for the Kind of the objects under a member.
func childKinds(member string) map[string]string {
	switch member {
	case "System", "Parts", "Content":
		return partKinds
	case "Err":
		return errorKinds
	}
	return nil
}

// readable marshals v with named kinds (top is the table for v's own Kind)
// and without zero fields, indented or as one line.
func readable(t *testing.T, v any, top map[string]string, indented bool) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tree := toNames(decode(t, raw), top)
	var out []byte
	if indented {
		out, err = json.MarshalIndent(tree, "", "  ")
	} else {
		out, err = json.Marshal(tree)
	}
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func toNames(v any, kinds map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if k == "Kind" && kinds != nil {
				if n, ok := val.(json.Number); ok && kinds[n.String()] != "" {
					v[k] = kinds[n.String()]
					continue
				}
			}
			val = toNames(val, childKinds(k))
			// ParallelToolCalls is the one *bool: its false is not the zero.
			if isZero(val) && !(k == "ParallelToolCalls" && val == false) || k == "Usage" && allZero(val) {
				delete(v, k)
			} else {
				v[k] = val
			}
		}
	case []any:
		for i := range v {
			v[i] = toNames(v[i], kinds)
		}
	}
	return v
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

func allZero(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, x := range m {
		if n, ok := x.(json.Number); !ok || n.String() != "0" {
			return false
		}
	}
	return true
}

// fromReadable is the inverse of readable.
func fromReadable(t *testing.T, data []byte, dst any, top map[string]string) {
	t.Helper()
	raw, err := json.Marshal(toNumbers(t, decode(t, data), top))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
}

func toNumbers(t *testing.T, v any, kinds map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if name, ok := val.(string); ok && k == "Kind" && kinds != nil {
				v[k] = kindNumber(t, kinds, name)
				continue
			}
			v[k] = toNumbers(t, val, childKinds(k))
		}
	case []any:
		for i := range v {
			v[i] = toNumbers(t, v[i], kinds)
		}
	}
	return v
}

func kindNumber(t *testing.T, kinds map[string]string, name string) json.Number {
	for n, s := range kinds {
		if s == name {
			return json.Number(n)
		}
	}
	t.Fatalf("unknown kind %q", name)
	return ""
}

func asError(err error, target **llm.Error) bool { return errors.As(err, target) }
