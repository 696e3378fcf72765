package gemini

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// maxSchemaDepth bounds the recursion over nested schemas (fuzzed input).
const maxSchemaDepth = 100

// openAPISchema converts Gemini's `parameters`/`responseSchema` (an
// OpenAPI 3.0 subset with upper-case type names) into JSON Schema: the type
// names are lower-cased wherever a schema can nest, proto snake_case field
// names become their JSON Schema spelling (any_of → anyOf), and everything
// else, "nullable" included, is kept as written. Member order is kept.
func openAPISchema(v gjson.Result, path string) (json.RawMessage, *llm.Error) {
	if !v.IsObject() {
		return nil, invalid(path, "%s must be an object", path)
	}
	b, ok := appendSchema(nil, v, 0)
	if !ok {
		return nil, invalid(path, "%s is nested too deeply", path)
	}
	return b, nil
}

// schemaTypes are the OpenAPI Type enum names Gemini uses.
var schemaTypes = map[string]string{
	"STRING": "string", "NUMBER": "number", "INTEGER": "integer", "BOOLEAN": "boolean",
	"ARRAY": "array", "OBJECT": "object", "NULL": "null",
}

func appendSchema(b []byte, s gjson.Result, depth int) ([]byte, bool) {
	if !s.IsObject() {
		return appendCompact(b, s.Raw), true
	}
	if depth > maxSchemaDepth {
		return b, false
	}
	ok := true
	b = append(b, '{')
	n := 0
	s.ForEach(func(k, v gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		key := camel(k.Str)
		b = sse.AppendString(b, key)
		b = append(b, ':')
		switch key {
		case "type":
			if t, known := schemaTypes[v.Str]; known && v.Type == gjson.String {
				b = sse.AppendString(b, t)
			} else {
				b = appendCompact(b, v.Raw)
			}
		case "items", "additionalProperties", "not", "contains":
			b, ok = appendNested(b, v, depth)
		case "properties", "$defs", "definitions", "patternProperties":
			b, ok = appendSchemaMap(b, v, depth)
		case "anyOf", "oneOf", "allOf", "prefixItems":
			b, ok = appendNested(b, v, depth)
		case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties":
			b = appendCount(b, v) // int64 fields, which proto3 JSON may write as strings
		default:
			b = appendCompact(b, v.Raw)
		}
		return ok
	})
	return append(b, '}'), ok
}

// appendNested converts a schema, or an array of schemas.
func appendNested(b []byte, v gjson.Result, depth int) ([]byte, bool) {
	if !v.IsArray() {
		return appendSchema(b, v, depth+1)
	}
	ok := true
	b = append(b, '[')
	n := 0
	v.ForEach(func(_, e gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b, ok = appendSchema(b, e, depth+1)
		return ok
	})
	return append(b, ']'), ok
}

// appendSchemaMap converts a map from names (kept as written) to schemas.
func appendSchemaMap(b []byte, v gjson.Result, depth int) ([]byte, bool) {
	if !v.IsObject() {
		return appendCompact(b, v.Raw), true
	}
	ok := true
	b = append(b, '{')
	n := 0
	v.ForEach(func(k, e gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = sse.AppendString(b, k.Str)
		b = append(b, ':')
		b, ok = appendSchema(b, e, depth+1)
		return ok
	})
	return append(b, '}'), ok
}

// appendCount writes a numeric string as the number JSON Schema wants.
func appendCount(b []byte, v gjson.Result) []byte {
	if v.Type == gjson.String {
		if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			return strconv.AppendInt(b, n, 10)
		}
	}
	return appendCompact(b, v.Raw)
}

// appendCompact appends raw JSON (validated by the caller) without white
// space.
func appendCompact(b []byte, raw string) []byte {
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, []byte(raw)); err != nil {
		return append(b, raw...)
	}
	return buf.Bytes()
}
