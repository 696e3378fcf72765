package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client calls the admin API of a running server. The CLI is built on it.
type Client struct {
	URL   string // the server, e.g. "http://127.0.0.1:3000"
	Token string // the admin token
	HTTP  *http.Client
}

// Error is an error answer of the admin API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code) }

// Do sends body (when not nil) as JSON to path, decodes the answer into out
// (when not nil) and returns the answer as it came. An error answer is an
// *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var e ErrorBody
		if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
			// Not our API: a proxy, or another server on that port.
			return nil, &Error{Status: resp.StatusCode, Code: "unexpected_answer",
				Message: fmt.Sprintf("%s %s: %.200q", method, path, raw)}
		}
		return nil, &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("unexpected answer to %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}
