package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBytes     = 20 << 20
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRedirects = 3
)

// Options configure a Fetcher. The zero value is the safe default.
type Options struct {
	// AllowPrivate lets fetches reach private, loopback, link-local,
	// unspecified, multicast, shared (CGNAT, 100.64.0.0/10), unique local
	// and other special-purpose addresses. Only for gateways whose images
	// live on the same private network, and for tests.
	AllowPrivate bool
	// MaxBytes bounds a fetched body; a larger one is refused. 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Timeout bounds a whole fetch, redirects and body included. 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects is how many redirects a fetch follows. 0 means
	// DefaultMaxRedirects; a negative value forbids redirects.
	MaxRedirects int
	// Transport replaces the Fetcher's own transport, whose dialer refuses
	// addresses that AllowPrivate does not allow. A Transport given here
	// must do that check itself (or not need it, as in tests): the Fetcher
	// then checks only IP addresses written in the URLs.
	Transport http.RoundTripper
}

// Fetcher downloads client-supplied media URLs safely. It is safe for
// concurrent use; make one and keep it, so its connections are reused.
type Fetcher struct {
	client       *http.Client
	maxBytes     int64
	timeout      time.Duration
	maxRedirects int
	// allow decides whether an address may be connected to. Tests replace
	// it to let one loopback server through.
	allow func(netip.AddrPort) bool
}

// New returns a Fetcher configured by o.
func New(o Options) *Fetcher {
	f := &Fetcher{
		maxBytes:     o.MaxBytes,
		timeout:      o.Timeout,
		maxRedirects: o.MaxRedirects,
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	switch {
	case f.maxRedirects == 0:
		f.maxRedirects = DefaultMaxRedirects
	case f.maxRedirects < 0:
		f.maxRedirects = 0
	}
	allowPrivate := o.AllowPrivate
	f.allow = func(ap netip.AddrPort) bool { return allowPrivate || public(ap.Addr()) }

	rt := o.Transport
	if rt == nil {
		rt = f.newTransport()
	}
	f.client = &http.Client{Transport: rt, CheckRedirect: f.checkRedirect}
	return f
}

// newTransport is an http.Transport without a proxy (a proxy would make the
// dial check see the proxy's address, not the server's) whose dialer checks
// every address it connects to. Checking there, after name resolution and
// for each connection attempt, is what defeats DNS rebinding, redirects to
// internal hosts and spellings such as 2130706433 or 0x7f.1 that the
// system resolver may turn into 127.0.0.1.
func (f *Fetcher) newTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: f.control}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// control runs after a socket is made and before it connects, with the
// address being connected to.
func (f *Fetcher) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !f.allow(ap) {
		return &refusal{reason: reasonAddress}
	}
	return nil
}

// checkRedirect limits redirects and applies checkURL to each target. The
// dial check covers targets given by name.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.maxRedirects {
		return &refusal{reason: "it redirects too many times"}
	}
	return f.checkURL(req.URL)
}

// checkURL refuses URLs that are not http(s) and literal IP addresses that
// are not allowed, before any connection is tried.
func (f *Fetcher) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &refusal{reason: "only http and https URLs can be fetched"}
	}
	host := u.Hostname()
	if host == "" {
		return &refusal{reason: "the URL has no host"}
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return &refusal{reason: "the URL has an invalid port"}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil // a name: the dial check decides
	}
	if !f.allow(netip.AddrPortFrom(ip, uint16(n))) {
		return &refusal{reason: reasonAddress}
	}
	return nil
}

// Fetch downloads url and returns its media type and standard-base64 data.
// The body must come with status 200, be at most the configured size, and
// be an image (image/*) or a PDF: by its Content-Type when that says so,
// otherwise by sniffing its first bytes.
//
// Errors are *llm.Error of kind llm.KindInvalid and code
// "invalid_image_url", whose message is safe to show to the client; the
// detail, which may name internal addresses, is in Cause.
func (f *Fetcher) Fetch(ctx context.Context, url string) (mime, data string, err error) {
	u, err := parseURL(url)
	if err != nil {
		return "", "", fetchError(url, err)
	}
	if err := f.checkURL(u); err != nil {
		return "", "", fetchError(url, err)
	}
	fctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	body, mime, err := f.get(fctx, u)
	if err != nil {
		return "", "", fetchError(url, explain(ctx, fctx, err))
	}
	return mime, base64.StdEncoding.EncodeToString(body), nil
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, &refusal{reason: "the URL is malformed", cause: err}
	}
	return u, nil
}

// get does the request and reads and classifies the body.
func (f *Fetcher) get(ctx context.Context, u *url.URL) (body []byte, mediaType string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", &refusal{reason: "the URL is malformed", cause: err}
	}
	req.Header.Set("User-Agent", "Tokenhot (media fetch)")
	req.Header.Set("Accept", "image/*, application/pdf;q=0.9, */*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", &refusal{reason: fmt.Sprintf("the server answered with status %d", resp.StatusCode)}
	}
	tooLarge := &refusal{reason: "it is larger than " + size(f.maxBytes)}
	if resp.ContentLength > f.maxBytes {
		return nil, "", tooLarge
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	// One byte more than allowed tells a body at the limit from a longer one.
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, f.maxBytes+1)); err != nil {
		return nil, "", err
	}
	if int64(buf.Len()) > f.maxBytes {
		return nil, "", tooLarge
	}
	if buf.Len() == 0 {
		return nil, "", &refusal{reason: "the server sent no content"}
	}
	mediaType, ok := classify(resp.Header.Get("Content-Type"), buf.Bytes())
	if !ok {
		return nil, "", &refusal{reason: "it is not an image or a PDF (" + mediaType + ")"}
	}
	return buf.Bytes(), mediaType, nil
}

// classify returns the media type of body: the declared one when it is
// acceptable, else the sniffed one; ok is false when neither is.
func classify(contentType string, body []byte) (mediaType string, ok bool) {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && acceptable(mt) {
		return mt, true
	}
	mt, _, err := mime.ParseMediaType(http.DetectContentType(body))
	if err != nil {
		return "application/octet-stream", false
	}
	return mt, acceptable(mt)
}

func acceptable(mediaType string) bool {
	sub, ok := strings.CutPrefix(mediaType, "image/")
	return ok && sub != "" || mediaType == "application/pdf"
}

// size formats a byte count for a message.
func size(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// reasonAddress is the reason given for a refused address. It does not say
// which address: the client may not know where its host name resolves to
// or a redirect leads, and must not learn it from the gateway.
const reasonAddress = "the host is not a public internet address"

// refusal is a fetch failure with a reason that is safe to show.
type refusal struct {
	reason string
	cause  error
}

func (r *refusal) Error() string {
	if r.cause != nil {
		return r.reason + ": " + r.cause.Error()
	}
	return r.reason
}

func (r *refusal) Unwrap() error { return r.cause }

// explain turns the error of a fetch into a refusal, choosing a safe reason
// for errors from the network stack, whose text may name internal
// addresses (a resolver's, a redirect target's). parent is the caller's
// context and fctx the fetch's own, with its timeout.
func explain(parent, fctx context.Context, err error) error {
	var r *refusal
	switch {
	case errors.As(err, &r):
		if err == error(r) {
			return r
		}
		return &refusal{reason: r.reason, cause: err}
	case parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded):
		return &refusal{reason: "the request was canceled", cause: err}
	case errors.Is(fctx.Err(), context.DeadlineExceeded):
		return &refusal{reason: "it took too long to download", cause: err}
	}
	return &refusal{reason: "the server could not be reached or failed to send it", cause: err}
}

// maxShownURL bounds how much of a URL an error message repeats.
const maxShownURL = 200

// fetchError is the client-facing error for a failed fetch of rawURL.
func fetchError(rawURL string, err error) *llm.Error {
	reason := "it failed"
	var r *refusal
	if errors.As(err, &r) {
		reason = r.reason
	}
	return &llm.Error{
		Kind:    llm.KindInvalid,
		Code:    "invalid_image_url",
		Message: "the image at " + shorten(rawURL) + " could not be fetched: " + reason,
		Cause:   err,
	}
}

func shorten(s string) string {
	if len(s) <= maxShownURL {
		return s
	}
	cut := maxShownURL
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
