package adminctl

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
