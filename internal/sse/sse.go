// Package sse is the Server-Sent Events framing shared by every streamed
// protocol: splitting a byte stream into whole events, reading an event's
// fields, and appending events with the JSON strings inside them. It knows
// nothing of any provider.
package sse

import (
	"bytes"
	"unicode/utf8"
)

// EventEnd returns the length of the first whole event in data (through the
// blank line that ends it, "\n\n" or "\r\n\r\n"), or -1 when data holds no
// whole event.
func EventEnd(data []byte) int {
	i := 0
	for {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			return -1
		}
		line := data[i : i+nl]
		i += nl + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return i
		}
	}
}

var (
	eventPrefix = []byte("event:")
	dataPrefix  = []byte("data:")
)

// Fields returns the "event:" and "data:" values of one event (as EventEnd
// delimits it). Several data lines are joined with "\n", as the SSE
// specification says; comment lines and other fields are ignored. The
// values alias event when there is one data line.
func Fields(event []byte) (name, data []byte) {
	lines := 0
	for len(event) > 0 {
		line := event
		if i := bytes.IndexByte(event, '\n'); i >= 0 {
			line, event = event[:i], event[i+1:]
		} else {
			event = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case bytes.HasPrefix(line, dataPrefix):
			v := trimValue(line[len(dataPrefix):])
			if lines == 0 {
				data = v
			} else {
				joined := make([]byte, 0, len(data)+1+len(v))
				joined = append(append(append(joined, data...), '\n'), v...)
				data = joined
			}
			lines++
		case bytes.HasPrefix(line, eventPrefix):
			name = trimValue(line[len(eventPrefix):])
		}
	}
	return name, data
}

// trimValue drops the one space the specification allows after the colon
// (and any other surrounding white space, which JSON payloads never need).
func trimValue(v []byte) []byte { return bytes.TrimSpace(v) }

// AppendData appends "data: <payload>\n\n".
func AppendData(dst, payload []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, payload...)
	return append(dst, "\n\n"...)
}

// AppendEvent appends "event: <name>\ndata: <payload>\n\n".
func AppendEvent(dst []byte, name string, payload []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, payload...)
	return append(dst, "\n\n"...)
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string literal, escaping what JSON
// requires plus <, > and & (as encoding/json does) and the line separators
// U+2028 and U+2029; invalid UTF-8 becomes U+FFFD. It allocates nothing
// beyond dst's growth, which matters on the per-token stream path.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
