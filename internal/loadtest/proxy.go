package loadtest

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// NewBareProxy returns the floor any Go gateway pays: the standard
// library's reverse proxy and nothing else (no authentication, billing or
// logging), with an upstream transport tuned as a real gateway's is:
// keep-alive connections, up to maxIdlePerHost of them kept idle so that
// none is re-dialled under load, and no transparent decompression.
// ReverseProxy flushes text/event-stream responses event by event by itself.
func NewBareProxy(target *url.URL, maxIdlePerHost int) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			if r.Out.Body != nil && r.Out.ContentLength > 0 {
				r.Out.Body = &sizedBody{rc: r.Out.Body, left: r.Out.ContentLength}
			}
		},
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        maxIdlePerHost,
			MaxIdleConnsPerHost: maxIdlePerHost,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// sizedBody ends a request body at its declared length without another
// read. Left as it is, ReverseProxy hands the inbound body to the
// transport, which after copying Content-Length bytes reads once more to
// check that nothing follows. When the upstream answers at once, as the
// mock does, the server may have begun the response and closed the
// inbound body by then: that read fails, and the transport tears down the
// upstream connection in the middle of the answer, which the client gets
// cut short (golang/go#40747; a few percent of the streams in this bench,
// and a new connection for most of them). Gateways that read the body
// before forwarding it, as Tokenhot does, never meet the race.
type sizedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *sizedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

func (b *sizedBody) Close() error { return b.rc.Close() }
