package chat

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tidwall/gjson"
)

// Typed readers for optional JSON members. Each treats a missing member and
// an explicit null alike (as OpenAI does) and names the member in its error.

func isNull(v gjson.Result) bool { return !v.Exists() || v.Type == gjson.Null }

// text is v when it is a JSON string, else "": upstream answers are read
// leniently, but never with raw JSON mistaken for text.
func text(v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	return v.Str
}

func optString(v gjson.Result, param string) (string, error) {
	if isNull(v) {
		return "", nil
	}
	if v.Type != gjson.String {
		return "", invalid(param, fmt.Sprintf("'%s' must be a string", param))
	}
	return v.Str, nil
}

// reqString is a string member that must be present and non-empty.
func reqString(v gjson.Result, param string) (string, error) {
	s, err := optString(v, param)
	if err == nil && s == "" {
		err = invalid(param, fmt.Sprintf("'%s' is required and must be a non-empty string", param))
	}
	return s, err
}

func optBool(v gjson.Result, param string) (*bool, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Type != gjson.True && v.Type != gjson.False {
		return nil, invalid(param, fmt.Sprintf("'%s' must be a boolean", param))
	}
	b := v.Type == gjson.True
	return &b, nil
}

func optFloat(v gjson.Result, param string) (*float64, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Type != gjson.Number {
		return nil, invalid(param, fmt.Sprintf("'%s' must be a number", param))
	}
	f := v.Num
	return &f, nil
}

func optInt(v gjson.Result, param string) (*int64, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Type == gjson.Number {
		// ParseInt first: seeds can exceed float64's exact range.
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return &n, nil
		}
		if v.Num == math.Trunc(v.Num) && math.Abs(v.Num) < math.MaxInt64 {
			n := int64(v.Num)
			return &n, nil
		}
	}
	return nil, invalid(param, fmt.Sprintf("'%s' must be an integer", param))
}

// optObject returns the raw text of an object member, nil when absent.
func optObject(v gjson.Result, param string) ([]byte, error) {
	if isNull(v) {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, invalid(param, fmt.Sprintf("'%s' must be an object", param))
	}
	return []byte(v.Raw), nil
}

// optArray returns the elements of an array member, nil when absent.
func optArray(v gjson.Result, param string) ([]gjson.Result, error) {
	if isNull(v) {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, invalid(param, fmt.Sprintf("'%s' must be an array", param))
	}
	return v.Array(), nil
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
