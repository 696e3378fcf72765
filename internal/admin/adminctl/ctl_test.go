package adminctl

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/admin"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
		pos   []string
		flags map[string]string
		err   bool
	}{
		{name: "flags after", args: []string{"alice", "--note", "hi", "--json"}, names: []string{"USER"},
			pos: []string{"alice"}, flags: map[string]string{"note": "hi", "json": "true"}},
		{name: "flags before", args: []string{"-note=hi", "alice", "5"}, names: []string{"USER", "AMOUNT"},
			pos: []string{"alice", "5"}, flags: map[string]string{"note": "hi"}},
		{name: "negative amount", args: []string{"alice", "-0.5", "--note", "-x"}, names: []string{"USER", "AMOUNT"},
			pos: []string{"alice", "-0.5"}, flags: map[string]string{"note": "-x"}},
		{name: "negative flag value", args: []string{"--n", "-1", "x"}, names: []string{"ID"},
			pos: []string{"x"}, flags: map[string]string{"n": "-1"}},
		{name: "double dash", args: []string{"--", "--note"}, names: []string{"NAME"}, pos: []string{"--note"}},
		{name: "too few", args: []string{}, names: []string{"USER"}, err: true},
		{name: "too many", args: []string{"a", "b"}, names: []string{"USER"}, err: true},
		{name: "unknown flag", args: []string{"a", "--nope"}, names: []string{"USER"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{name: "test", stderr: io.Discard}
			fs := c.flags()
			fs.String("note", "", "")
			fs.Int("n", 0, "")
			pos, err := c.parse(fs, tc.args, tc.names...)
			if tc.err {
				if !errors.Is(err, ErrUsage) {
					t.Errorf("error %v, want ErrUsage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.pos, pos); d != "" {
				t.Errorf("arguments (-want +got):\n%s", d)
			}
			for name, want := range tc.flags {
				if got := fs.Lookup(name).Value.String(); got != want {
					t.Errorf("--%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2030, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		dir  int
		want time.Time
		err  bool
	}{
		{in: "2030-02-01T00:00:00+01:00", dir: 1, want: time.Date(2030, 1, 31, 23, 0, 0, 0, time.UTC)},
		{in: "720h", dir: 1, want: now.Add(720 * time.Hour)},
		{in: "30d", dir: 1, want: time.Date(2030, 3, 2, 12, 0, 0, 0, time.UTC)},
		{in: "24h", dir: -1, want: time.Date(2030, 1, 30, 12, 0, 0, 0, time.UTC)},
		{in: "7d", dir: -1, want: time.Date(2030, 1, 24, 12, 0, 0, 0, time.UTC)},
		{in: "-5h", dir: 1, err: true},
		{in: "0d", dir: 1, err: true},
		{in: "tomorrow", dir: 1, err: true},
	} {
		got, err := parseWhen(tc.in, now, tc.dir)
		if tc.err != (err != nil) || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q, %d) = %v, %v; want %v (error %v)", tc.in, tc.dir, got, err, tc.want, tc.err)
		}
	}
}

func TestRateFlags(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name string
		args []string
		old  admin.RateLimits
		want admin.RateLimits
		text string
		err  string
	}{
		{name: "set", args: []string{"--rpm", "60", "--tpm=100000"},
			want: admin.RateLimits{RPM: n(60), TPM: n(100_000)}, text: "rpm<=60; tpm<=100000"},
		{name: "others kept", args: []string{"--concurrent", "4"}, old: admin.RateLimits{RPM: n(60)},
			want: admin.RateLimits{RPM: n(60), Concurrent: n(4)}, text: "rpm<=60; concurrent<=4"},
		{name: "none and 0 remove", args: []string{"--rpm", "none", "--tpm", "0"}, old: admin.RateLimits{RPM: n(60), TPM: n(5)},
			want: admin.RateLimits{RPM: n(0), TPM: n(0)}, text: ""},
		{name: "negative", args: []string{"--rpm=-1"}, err: `--rpm "-1": want a whole number`},
		{name: "fraction", args: []string{"--tpm", "1.5"}, err: `--tpm "1.5"`},
		{name: "empty", args: []string{"--concurrent="}, err: `--concurrent ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{name: "test", stderr: io.Discard}
			fs := c.flags()
			rf := addRateFlags(fs)
			if _, err := c.parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			got := tc.old
			err := rf.apply(given(fs), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("limits (-want +got):\n%s", d)
			}
			if got := rateText(got); got != tc.text {
				t.Errorf("text %q, want %q", got, tc.text)
			}
		})
	}
}

// model set sends the media prices it is given and shows them back.
func TestModelSetMediaPrices(t *testing.T) {
	var got admin.ModelRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PUT" || r.URL.Path != "/admin/v1/models/gpt-image-1" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(admin.Model{Name: "gpt-image-1", Status: got.Status, Price: *got.Price})
	}))
	defer srv.Close()
	getenv := func(k string) string {
		return map[string]string{"TOKENHOT_URL": srv.URL, "TOKENHOT_ADMIN_TOKEN": "t"}[k]
	}
	var out, errOut strings.Builder
	err := Run(context.Background(), []string{"model", "set", "gpt-image-1", "--input", "5", "--output", "40",
		"--per-image", "0.04", "--image-prices", `{"1024x1024/high":"0.167","2K":0.03}`,
		"--per-second", "0.1", "--second-prices", `{"720p":"0.10","1080p":0.25}`}, getenv, &out, &errOut)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	want := admin.Price{Input: "5", Output: "40", PerImage: "0.04", Images: map[string]string{"1024x1024/high": "0.167", "2K": "0.03"},
		PerSecond: "0.1", Seconds: map[string]string{"720p": "0.10", "1080p": "0.25"}}
	if d := cmp.Diff(&want, got.Price); d != "" {
		t.Errorf("request price (-want +got):\n%s", d)
	}
	shown := strings.Join(strings.Fields(out.String()), " ")
	for _, line := range []string{"per image: 0.04 USD", "image prices: 1024x1024/high=0.167, 2K=0.03",
		"per second: 0.1 USD", "second prices: 1080p=0.25, 720p=0.10"} {
		if !strings.Contains(shown, line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}

	for _, tc := range []struct{ name, value, err string }{
		{"not json", `2K=0.03`, "want a JSON object"},
		{"not an object", `["0.03"]`, "want a JSON object"},
		{"two objects", `{} {}`, "want one JSON object"},
		{"bool amount", `{"2K":true}`, `"2K": want a USD amount`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f pricesFlag
			if err := f.Set(tc.value); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Set(%q) = %v, want %q", tc.value, err, tc.err)
			}
		})
	}
}
