package responses

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// The golden form of llm values: struct fields in declaration order, zero
// fields left out (a non-nil pointer is kept even when it points to zero,
// since "set to 0" and "unset" differ), and part kinds by name. It keeps
// golden files short enough to review, and hand-written inputs use the
// same form (readLLM).

var partKinds = map[llm.PartKind]string{
	llm.PartText: "text", llm.PartImage: "image", llm.PartFile: "file", llm.PartThinking: "thinking",
	llm.PartRedactedThinking: "redacted_thinking", llm.PartToolCall: "tool_call", llm.PartToolResult: "tool_result",
}

var (
	partKindType = reflect.TypeFor[llm.PartKind]()
	rawType      = reflect.TypeFor[json.RawMessage]()
)

func compactJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	writeCompact(t, &b, reflect.ValueOf(v))
	return reindent(t, b.Bytes())
}

func writeCompact(t *testing.T, b *bytes.Buffer, v reflect.Value) {
	switch {
	case v.Type() == partKindType:
		writeJSON(t, b, partKinds[llm.PartKind(v.Uint())])
	case v.Type() == rawType:
		b.Write(v.Bytes())
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		writeCompact(t, b, v.Elem())
	case v.Kind() == reflect.Struct:
		b.WriteByte('{')
		n := 0
		for i := range v.NumField() {
			f, fv := v.Type().Field(i), v.Field(i)
			if !f.IsExported() || fv.Kind() == reflect.Interface || fv.Kind() != reflect.Pointer && fv.IsZero() ||
				fv.Kind() == reflect.Pointer && fv.IsNil() {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
				name = tag // the same key json.Unmarshal reads back
			}
			writeJSON(t, b, name)
			b.WriteByte(':')
			writeCompact(t, b, fv)
		}
		b.WriteByte('}')
	case v.Kind() == reflect.Slice:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(t, b, v.Index(i))
		}
		b.WriteByte(']')
	default:
		writeJSON(t, b, v.Interface())
	}
}

func writeJSON(t *testing.T, b *bytes.Buffer, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(raw)
}

// readLLM decodes the golden form into an llm value. Part kinds given by
// name are replaced by their numbers textually, so that every other byte
// (the key order of schemas in particular) reaches the value unchanged.
func readLLM(t *testing.T, in []byte, dst any) {
	t.Helper()
	byName := map[string]llm.PartKind{}
	for k, name := range partKinds {
		byName[name] = k
	}
	var bad string
	in = kindByName.ReplaceAllFunc(in, func(m []byte) []byte {
		name := string(kindByName.FindSubmatch(m)[1])
		k, ok := byName[name]
		if !ok {
			bad = name
		}
		return []byte(`"Kind": ` + strconv.Itoa(int(k)))
	})
	if bad != "" {
		t.Fatalf("unknown part kind %q", bad)
	}
	if err := json.Unmarshal(in, dst); err != nil {
		t.Fatal(err)
	}
}

var kindByName = regexp.MustCompile(`"Kind"\s*:\s*"([a-z_]+)"`)
