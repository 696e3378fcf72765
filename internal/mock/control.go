package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// faultRequest is the body of POST /_mock/faults.
type faultRequest struct {
	Key   string `json:"key"`
	Fault Fault  `json:"fault"`
}

// serveControl answers the control surface under /_mock/, which lets another
// process (the load tool, the demo, a multi-process test) steer the mock:
//
//	POST /_mock/faults  {"key":"k","fault":{"status":503,"retry_after":"1s","times":2}}
//	GET  /_mock/stats?key=k   (no key: totals over all keys)
//	POST /_mock/reset
//
// It is unauthenticated: the mock is a test tool. GET
// /_mock/files/image-<i>.png serves the image that image replies link to, and
// GET /_mock/files/video-<n>.mp4 the video of Seedance tasks.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/_mock/files/"); ok {
		serveFile(w, r, name)
		return
	}
	switch r.URL.Path {
	case "/_mock/faults":
		if r.Method != http.MethodPost {
			controlError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var fr faultRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fr); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.SetFault(fr.Key, fr.Fault)
		w.WriteHeader(http.StatusNoContent)
	case "/_mock/stats":
		if r.Method != http.MethodGet {
			controlError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats(r.URL.Query().Get("key")))
	case "/_mock/reset":
		if r.Method != http.MethodPost {
			controlError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		controlError(w, http.StatusNotFound, "unknown control endpoint "+r.URL.Path)
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Remote steers a mock running in another process through its control
// surface. BaseURL is the mock's root, e.g. "http://127.0.0.1:9090"; a nil
// Client means http.DefaultClient.
type Remote struct {
	BaseURL string
	Client  *http.Client
}

// SetFault is Server.SetFault over HTTP.
func (c Remote) SetFault(ctx context.Context, apiKey string, f Fault) error {
	body, err := json.Marshal(faultRequest{Key: apiKey, Fault: f})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/_mock/faults", body, nil)
}

// Stats is Server.Stats over HTTP.
func (c Remote) Stats(ctx context.Context, apiKey string) (Stats, error) {
	var st Stats
	err := c.do(ctx, http.MethodGet, "/_mock/stats?key="+url.QueryEscape(apiKey), nil, &st)
	return st, err
}

// Reset is Server.Reset over HTTP.
func (c Remote) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/_mock/reset", nil, nil)
}

func (c Remote) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("mock control %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
