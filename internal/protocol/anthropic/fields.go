package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// The helpers below read one field of a client's request with its JSON path
// (Anthropic's own dotted form, "messages.0.content.1.text"), so that every
// rejection names the field that caused it.

// invalid is a client error about the field at param.
func invalid(param, format string, args ...any) *llm.Error {
	msg := fmt.Sprintf(format, args...)
	if param != "" {
		msg = param + ": " + msg
	}
	return &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Param: param, Message: msg}
}

// at is the path of key inside the object at path.
func at(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// item is the path of element i of the array at path.
func item(path string, i int) string { return path + "." + strconv.Itoa(i) }

// absent reports a missing or null field; the SDKs send null for unset
// optional fields in some languages.
func absent(v gjson.Result) bool { return !v.Exists() || v.Type == gjson.Null }

// maxDepth bounds the nesting of the JSON the package reads, as
// encoding/json does: gjson's validator and parser recurse per level.
const maxDepth = 10000

// validJSON reports whether b is one JSON value nested at most maxDepth
// deep. gjson's validator is several times faster than encoding/json's,
// which matters per stream event; the depth check first keeps a body of
// nested brackets from exhausting the stack.
func validJSON(b []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				return false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return gjson.ValidBytes(b)
}

// parseRoot checks that body is one JSON object.
func parseRoot(body []byte) (gjson.Result, *llm.Error) {
	if !validJSON(body) {
		return gjson.Result{}, invalid("", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return gjson.Result{}, invalid("", "the request body must be a JSON object")
	}
	return root, nil
}

// str reads a string field; required fields must be present (but may be
// empty).
func str(v gjson.Result, path string, required bool) (string, *llm.Error) {
	if absent(v) {
		if required {
			return "", invalid(path, "field required")
		}
		return "", nil
	}
	if v.Type != gjson.String {
		return "", invalid(path, "must be a string")
	}
	return v.Str, nil
}

// nonEmpty reads a required string that must not be empty.
func nonEmpty(v gjson.Result, path string) (string, *llm.Error) {
	s, err := str(v, path, true)
	if err == nil && s == "" {
		err = invalid(path, "must not be empty")
	}
	return s, err
}

// integer reads an optional integer; ok is false when it is absent.
func integer(v gjson.Result, path string) (n int64, ok bool, err *llm.Error) {
	if absent(v) {
		return 0, false, nil
	}
	if v.Type != gjson.Number {
		return 0, false, invalid(path, "must be an integer")
	}
	if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
		return n, true, nil
	}
	// 1024.0 and 1e3 are integers too.
	f := v.Float()
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, invalid(path, "must be an integer")
	}
	return int64(f), true, nil
}

// number reads an optional finite number; nil when absent.
func number(v gjson.Result, path string) (*float64, *llm.Error) {
	if absent(v) {
		return nil, nil
	}
	if v.Type != gjson.Number {
		return nil, invalid(path, "must be a number")
	}
	f, err := strconv.ParseFloat(v.Raw, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, invalid(path, "must be a finite number")
	}
	return &f, nil
}

// boolean reads an optional boolean.
func boolean(v gjson.Result, path string) (bool, *llm.Error) {
	switch {
	case absent(v):
		return false, nil
	case v.Type == gjson.True:
		return true, nil
	case v.Type == gjson.False:
		return false, nil
	}
	return false, invalid(path, "must be a boolean")
}

// array checks that an optional field is an array.
func array(v gjson.Result, path string) *llm.Error {
	if absent(v) || v.IsArray() {
		return nil
	}
	return invalid(path, "must be an array")
}

// object checks that an optional field is an object.
func object(v gjson.Result, path string) *llm.Error {
	if absent(v) || v.IsObject() {
		return nil
	}
	return invalid(path, "must be an object")
}

// compact is the raw JSON of v without insignificant white space.
func compact(v gjson.Result) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(v.Raw)) != nil {
		return v.Raw
	}
	return b.String()
}

// each calls fn for every element of the array v (which must be an array)
// with its path, stopping at the first error.
func each(v gjson.Result, path string, fn func(e gjson.Result, path string) *llm.Error) *llm.Error {
	var err *llm.Error
	i := 0
	v.ForEach(func(_, e gjson.Result) bool {
		err = fn(e, item(path, i))
		i++
		return err == nil
	})
	return err
}
