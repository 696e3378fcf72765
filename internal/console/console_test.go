package console

import (
	"io/fs"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Every message id exists in every language, and every id a template uses
// exists.
func TestCatalogueComplete(t *testing.T) {
	cat, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	keys := func(lang string) []string {
		var out []string
		for k := range cat[lang] {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if d := cmp.Diff(keys("en"), keys("zh")); d != "" {
		t.Errorf("message ids differ (-en +zh):\n%s", d)
	}
	use := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	names, _ := fs.Glob(files, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(files, n)
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			if _, ok := cat["en"][m[1]]; !ok {
				t.Errorf("%s uses unknown message %q", n, m[1])
			}
		}
	}
	for _, prefix := range []string{"kind.topup", "kind.adjust", "kind.reserve", "kind.settle", "kind.refund",
		"status.available", "status.experimental", "status.deprecated", "status.offline"} {
		if _, ok := cat["en"][prefix]; !ok {
			t.Errorf("missing computed message id %q", prefix)
		}
	}
}

func TestLanguage(t *testing.T) {
	for _, tc := range []struct{ name, cookie, accept, want string }{
		{"default", "", "", "en"},
		{"chinese browser", "", "zh-CN,zh;q=0.9,en;q=0.8", "zh"},
		{"english preferred", "", "en-US,zh;q=0.5", "en"},
		{"q order wins", "", "fr,en;q=0.3,zh-TW;q=0.7", "zh"},
		{"cookie wins", "en", "zh-CN", "en"},
		{"bad cookie ignored", "xx", "zh", "zh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", "lang="+tc.cookie)
			}
			if got := language(r); got != tc.want {
				t.Errorf("language = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle(2, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	th.fail("k", t0)
	if th.blocked("k", t0) {
		t.Fatal("blocked after one failure")
	}
	th.fail("k", t0.Add(10*time.Second))
	if !th.blocked("k", t0.Add(20*time.Second)) {
		t.Fatal("not blocked after two failures")
	}
	if th.blocked("other", t0) {
		t.Fatal("another key is blocked")
	}
	if th.blocked("k", t0.Add(61*time.Second)) {
		t.Fatal("still blocked once the first failure left the window")
	}
	th.reset("k")
	if th.blocked("k", t0.Add(20*time.Second)) {
		t.Fatal("blocked after reset")
	}
}

func TestCheckInput(t *testing.T) {
	for _, tc := range []struct{ name, msg string }{
		{"ab", "err.name_length"}, {"carol", ""}, {"c a", "err.name_chars"}, {"12345", "err.name_chars"},
		{"deleted-3", "err.name_chars"}, {"名字很长的", "err.name_chars"},
	} {
		if got := checkUserName(tc.name); got != tc.msg {
			t.Errorf("checkUserName(%q) = %q, want %q", tc.name, got, tc.msg)
		}
	}
	for _, tc := range []struct{ pw, msg string }{
		{"123456789", "err.password_short"}, {"1234567890", ""}, {string(make([]byte, 73)), "err.password_long"},
	} {
		if got := checkPassword(tc.pw); got != tc.msg {
			t.Errorf("checkPassword(len %d) = %q, want %q", len(tc.pw), got, tc.msg)
		}
	}
}
