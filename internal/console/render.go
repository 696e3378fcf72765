package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Languages the console speaks; the first is the default.
var languages = []string{"en", "zh"}

// catalogue maps a language to its messages, keyed by message id.
type catalogue map[string]map[string]string

// loadCatalogue reads messages/<lang>.json and any messages/<lang>.*.json
// (one file per area of the console); an id defined twice is an error.
func loadCatalogue() (catalogue, error) {
	cat := catalogue{}
	for _, lang := range languages {
		names, err := fs.Glob(files, "messages/"+lang+".*json")
		if err != nil || len(names) == 0 {
			return nil, fmt.Errorf("console: no messages for %s", lang)
		}
		m := map[string]string{}
		for _, name := range names {
			b, err := files.ReadFile(name)
			if err != nil {
				return nil, err
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("console: %s: %w", name, err)
			}
			for id, text := range part {
				if _, dup := m[id]; dup {
					return nil, fmt.Errorf("console: %s: message %q is defined twice", name, id)
				}
				m[id] = text
			}
		}
		cat[lang] = m
	}
	return cat, nil
}

// text is message id in lang, formatted with args; a missing id shows
// itself, which the catalogue test forbids.
func (c catalogue) text(lang, id string, args ...any) string {
	s, ok := c[lang][id]
	if !ok {
		s, ok = c[languages[0]][id]
	}
	if !ok {
		return id
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// language picks the page language: the lang cookie, else the best
// supported language of Accept-Language, else English.
func language(r *http.Request) string {
	if ck, err := r.Cookie("lang"); err == nil && supported(ck.Value) {
		return ck.Value
	}
	best, bestQ := languages[0], 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if supported(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

func supported(lang string) bool {
	for _, l := range languages {
		if l == lang {
			return true
		}
	}
	return false
}

// view is what every template gets.
type view struct {
	Lang   string
	Site   string
	User   *store.User
	Admin  bool // the user has the admin role
	CSRF   string
	Path   string
	Title  string // message id
	Error  string // translated
	Notice string // translated
	Data   any
	msgs   catalogue
}

// T translates a message id.
func (v *view) T(id string, args ...any) string { return v.msgs.text(v.Lang, id, args...) }

// Other is the language the switch link offers.
func (v *view) Other() string {
	if v.Lang == "zh" {
		return "en"
	}
	return "zh"
}

type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"usd":  func(m billing.Micros) string { return "$" + m.USD() },
	"rate": func(r billing.Rate) string { return "$" + r.USD() },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"date": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"join": strings.Join,
	"paras": func(s string) []string {
		var out []string
		for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	},
}

// loadPages parses each page template together with the layout.
func loadPages() (map[string]*pageTemplate, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(base, ".html")] = &pageTemplate{t: t}
	}
	return pages, nil
}

// newView starts the view of a page for this request.
func (c *Console) newView(r *http.Request, s *session, title string) *view {
	v := &view{Lang: c.pageLanguage(r), Site: c.siteName(r.Context()), Path: r.URL.Path, Title: title, msgs: c.msgs}
	if s != nil {
		v.User = &s.user
		v.Admin = c.isAdmin(r, s)
		v.CSRF = s.CSRF
	}
	return v
}

// render writes page with status. Templates are executed into a buffer so
// that a template error becomes a clean 500, not half a page.
func (c *Console) render(w http.ResponseWriter, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := c.pages[page].t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.log.Error("console: rendering", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page: msg is a message id shown to the user,
// cause (if any) goes only to the log.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, cause error, status int, msg string) {
	if cause != nil {
		c.log.Error("console: request failed", "method", r.Method, "path", r.URL.Path, "err", cause)
	}
	s, _ := c.session(r)
	v := c.newView(r, s, "error.title")
	v.Error = v.T(msg)
	v.Data = status
	c.render(w, status, "error", v)
}
