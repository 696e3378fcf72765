package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/store"
)

// The playground lets a signed-in user chat with (streaming) and generate
// images from any model of the catalogue, billed exactly like API calls.
//
// Design: the browser never sees an API key. POST /playground/chat and
// /playground/image take JSON (CSRF token in the X-CSRF-Token header) and
// call the gateway's own API handler (Options.API) in-process, as the user,
// with the user's playground key: a key named "playground" that the console
// creates on the user's first playground request in this process and
// whose plaintext it keeps only in memory. A playground key left over from
// an earlier process (its plaintext is gone) is revoked then. The call
// therefore goes through the relay's authentication, limits, billing and
// request log like any other API call; the API's answer (SSE or JSON) is
// passed back to the browser as it comes.

// playKeyName names the key the playground calls the API with.
const playKeyName = "playground"

// playKeys holds the plaintext of each user's playground key.
type playKeys struct {
	mu   sync.Mutex
	keys map[int64]string
}

func (c *Console) playgroundRoutes() {
	m := c.mux
	m.HandleFunc("GET /playground", c.signedIn(c.playgroundPage))
	m.HandleFunc("POST /playground/chat", c.playAPI("/v1/chat/completions"))
	m.HandleFunc("POST /playground/image", c.playAPI("/v1/images/generations"))
}

func (c *Console) playgroundPage(w http.ResponseWriter, r *http.Request, s *session) {
	models, err := c.st.ListModels(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	models = slices.DeleteFunc(models, func(m store.Model) bool { return m.Status == store.ModelOffline })
	v := c.newView(r, s, "play.title")
	v.Data = models
	c.render(w, http.StatusOK, "playground", v)
}

// playAPI serves a playground call: the signed-in user (else 403), the
// session's CSRF token in X-CSRF-Token (else 403), a JSON body, relayed to
// the API path with the user's playground key.
func (c *Console) playAPI(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		switch {
		case err != nil:
			playError(w, http.StatusInternalServerError, "internal error")
			return
		case s == nil:
			playError(w, http.StatusForbidden, "signed out")
			return
		case !sameToken(r.Header.Get("X-CSRF-Token"), s.CSRF):
			playError(w, http.StatusForbidden, "bad CSRF token")
			return
		case c.opts.API == nil:
			playError(w, http.StatusNotFound, "the playground is not available")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(body) {
			playError(w, http.StatusBadRequest, "the body must be JSON")
			return
		}
		if path == "/v1/chat/completions" {
			// Always stream, with the usage in the last chunk.
			var req map[string]any
			if json.Unmarshal(body, &req) != nil {
				playError(w, http.StatusBadRequest, "the body must be a JSON object")
				return
			}
			req["stream"] = true
			body, _ = json.Marshal(req)
		}
		key, err := c.playKey(r, s.UserID)
		if err != nil {
			c.log.Error("console: playground key", "user", s.UserID, "err", err)
			playError(w, http.StatusInternalServerError, "internal error")
			return
		}
		in, err := http.NewRequestWithContext(r.Context(), http.MethodPost, path, bytes.NewReader(body))
		if err != nil {
			playError(w, http.StatusInternalServerError, "internal error")
			return
		}
		in.RemoteAddr = r.RemoteAddr
		in.Host = r.Host
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			in.Header["X-Forwarded-For"] = xff
		}
		in.Header.Set("Content-Type", "application/json")
		in.Header.Set("Authorization", "Bearer "+key)
		w.Header().Set("Cache-Control", "no-store")
		c.opts.API.ServeHTTP(&flushWriter{ResponseWriter: w}, in)
	}
}

// flushWriter flushes after every write so that SSE reaches the browser
// as it comes.
type flushWriter struct{ http.ResponseWriter }

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.ResponseWriter.Write(p)
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func (f *flushWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

func (f *flushWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

func playError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"message": msg}})
	_, _ = w.Write(b)
}

// playKey returns the user's playground key, creating it (and revoking a
// stale one) on first use in this process.
func (c *Console) playKey(r *http.Request, userID int64) (string, error) {
	c.play.mu.Lock()
	defer c.play.mu.Unlock()
	if k, ok := c.play.keys[userID]; ok {
		return k, nil
	}
	ctx := r.Context()
	keys, err := c.st.ListKeys(ctx, userID, "")
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Name == playKeyName && k.Status == store.KeyActive {
			if err := c.st.RevokeKey(ctx, k.ID); err != nil {
				return "", err
			}
		}
	}
	plain := apikey.New()
	k, err := c.st.CreateKey(ctx, userID, playKeyName, apikey.Hash(plain), apikey.Display(plain), store.KeyLimits{})
	if err != nil {
		return "", err
	}
	if err := c.reload(r, "playground key created", "user", userID, "key", k.ID); err != nil {
		return "", err
	}
	if c.play.keys == nil {
		c.play.keys = map[int64]string{}
	}
	c.play.keys[userID] = plain
	return plain, nil
}
