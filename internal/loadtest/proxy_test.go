package loadtest

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// closedAfter is a request body that fails any read once it is spent, as
// a server's inbound body does once the server has closed it.
type closedAfter struct {
	r      io.Reader
	closed bool
}

func (c *closedAfter) Read(p []byte) (int, error) {
	if c.closed {
		return 0, errors.New("http: invalid Read on closed Body")
	}
	return c.r.Read(p)
}

func (c *closedAfter) Close() error { c.closed = true; return nil }

// TestSizedBody reads a body as the transport does: the declared length,
// then once more to check nothing follows, after the server closed it.
func TestSizedBody(t *testing.T) {
	const body = `{"model":"gpt-5","messages":[]}`
	inner := &closedAfter{r: strings.NewReader(body)}
	b := &sizedBody{rc: inner, left: int64(len(body))}
	got, err := io.ReadAll(io.LimitReader(b, int64(len(body))))
	if err != nil || string(got) != body {
		t.Fatalf("read %q, %v", got, err)
	}
	inner.closed = true // the upstream answered; the server closed the body
	if n, err := b.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Errorf("read past the declared length = %d, %v; want 0, EOF", n, err)
	}
	if err := b.Close(); err != nil || !inner.closed {
		t.Errorf("Close = %v, inner closed %v", err, inner.closed)
	}
}
