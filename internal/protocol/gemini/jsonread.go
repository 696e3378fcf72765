package gemini

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// invalid is the error for a client request the gateway cannot accept.
// path names the field the way Google's own errors do
// ("contents[0].parts[1].functionCall").
func invalid(path, format string, args ...any) *llm.Error {
	e := llm.Errorf(llm.KindInvalid, "invalid_request", format, args...)
	e.Param = path
	return e
}

// members calls fn for each member of obj with its key in lowerCamelCase:
// the REST API accepts both proto field spellings (Tokenhot's own docs show
// "system_instruction"), so the parser sees only one. It stops at fn's first
// error.
func members(obj gjson.Result, fn func(key string, v gjson.Result) *llm.Error) *llm.Error {
	var err *llm.Error
	obj.ForEach(func(k, v gjson.Result) bool {
		err = fn(camel(k.Str), v)
		return err == nil
	})
	return err
}

// camel turns "system_instruction" into "systemInstruction"; keys without
// an underscore (the usual case) are returned without allocating.
func camel(k string) string {
	if strings.IndexByte(k, '_') < 0 {
		return k
	}
	var b strings.Builder
	b.Grow(len(k))
	up := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			up = false
		default:
			b.WriteByte(c)
			up = false
		}
	}
	return b.String()
}

// present reports whether v carries a value: proto3 JSON treats null as
// "not set".
func present(v gjson.Result) bool { return v.Exists() && v.Type != gjson.Null }

// object checks that v is a JSON object (or absent).
func object(v gjson.Result, path string) *llm.Error {
	if present(v) && !v.IsObject() {
		return invalid(path, "%s must be an object", path)
	}
	return nil
}

// array checks that v is a JSON array (or absent).
func array(v gjson.Result, path string) *llm.Error {
	if present(v) && !v.IsArray() {
		return invalid(path, "%s must be an array", path)
	}
	return nil
}

func str(v gjson.Result, path string) (string, *llm.Error) {
	switch v.Type {
	case gjson.String:
		return v.Str, nil
	case gjson.Null:
		return "", nil
	}
	return "", invalid(path, "%s must be a string", path)
}

func boolean(v gjson.Result, path string) (bool, *llm.Error) {
	switch v.Type {
	case gjson.True:
		return true, nil
	case gjson.False, gjson.Null:
		return false, nil
	}
	return false, invalid(path, "%s must be a boolean", path)
}

// number reads a float field; proto3 JSON also accepts numbers in strings.
// The pointer is nil when the field is null.
func number(v gjson.Result, path string) (*float64, *llm.Error) {
	var f float64
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.Number:
		f = v.Num
	case gjson.String:
		n, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		if err != nil {
			return nil, invalid(path, "%s must be a number", path)
		}
		f = n
	default:
		return nil, invalid(path, "%s must be a number", path)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, invalid(path, "%s must be a finite number", path)
	}
	return &f, nil
}

// integer reads an integer field; proto3 JSON writes 64-bit integers as
// strings, so both forms are accepted. The pointer is nil when null.
func integer(v gjson.Result, path string) (*int64, *llm.Error) {
	var n int64
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.Number:
		if v.Num != math.Trunc(v.Num) || math.Abs(v.Num) > 1<<53 {
			return nil, invalid(path, "%s must be an integer", path)
		}
		n = int64(v.Num)
	case gjson.String:
		i, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64)
		if err != nil {
			return nil, invalid(path, "%s must be an integer", path)
		}
		n = i
	default:
		return nil, invalid(path, "%s must be an integer", path)
	}
	return &n, nil
}

// stringList reads an array of strings.
func stringList(v gjson.Result, path string) ([]string, *llm.Error) {
	if err := array(v, path); err != nil || !present(v) {
		return nil, err
	}
	var out []string
	var err *llm.Error
	i := 0
	v.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String {
			err = invalid(path, "%s[%d] must be a string", path, i)
			return false
		}
		out = append(out, s.Str)
		i++
		return true
	})
	return out, err
}

// compact returns raw JSON without insignificant white space; raw has been
// validated by the caller (gjson), so an error cannot happen in practice.
func compact(raw string) string {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return raw
	}
	return b.String()
}

// at is the path of element i of the array at path.
func at(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
