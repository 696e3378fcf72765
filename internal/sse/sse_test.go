package sse

import (
	"encoding/json"
	"testing"
)

func TestEventEndAndFields(t *testing.T) {
	tests := []struct {
		name, in           string
		end                int
		wantName, wantData string
	}{
		{"data only", "data: {\"a\":1}\n\nrest", 15, "", `{"a":1}`},
		{"named", "event: message_start\ndata: {}\n\n", 31, "message_start", "{}"},
		{"crlf", "data: x\r\n\r\n", 11, "", "x"},
		{"comment and no space", ": ping\ndata:y\n\n", 15, "", "y"},
		{"two data lines", "data: a\ndata: b\n\n", 17, "", "a\nb"},
		{"unfinished", "data: x\n", -1, "", ""},
		{"empty", "", -1, "", ""},
		{"blank line only", "\n", 1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := EventEnd([]byte(tt.in))
			if end != tt.end {
				t.Fatalf("EventEnd = %d, want %d", end, tt.end)
			}
			if end < 0 {
				return
			}
			name, data := Fields([]byte(tt.in[:end]))
			if string(name) != tt.wantName || string(data) != tt.wantData {
				t.Fatalf("Fields = %q, %q", name, data)
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "new\nline\ttab\r", "<a&b>", "\x00\x1f",
		"中文 text", "\u2028\u2029", "bad\xffutf8", "emoji 🙂"} {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendEvent(t *testing.T) {
	got := string(AppendEvent(AppendData(nil, []byte("1")), "ping", []byte(`{"type":"ping"}`)))
	want := "data: 1\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
	if got != want {
		t.Fatalf("%q", got)
	}
}

func FuzzFields(f *testing.F) {
	f.Add([]byte("event: a\ndata: b\n\n"))
	f.Add([]byte("data: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		end := EventEnd(in)
		if end > len(in) {
			t.Fatalf("end %d beyond %d", end, len(in))
		}
		if end > 0 {
			Fields(in[:end])
		}
	})
}
