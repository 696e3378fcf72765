package media

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// maxParallel bounds the fetches of one request that run at once.
const maxParallel = 4

// site is where a media part sits in a request: message, part, and the
// position in a tool result's content (-1 for a part of the message).
type site struct {
	part             *llm.Part
	msg, idx, nested int
}

// param names the part in an error, in the request's neutral form: the
// indices are those of Request.Messages, which may differ from the
// client's own (its system messages are not messages there).
func (s site) param() string {
	p := fmt.Sprintf("messages[%d].content[%d]", s.msg, s.idx)
	if s.nested >= 0 {
		p += fmt.Sprintf(".content[%d]", s.nested)
	}
	return p
}

// Inline replaces the URL of every image and file part of r's messages and
// tool results that is an http(s) URL with the fetched data and media type,
// and the URL of every data: URL part with the data it holds. Parts that
// already have data, and URLs of other schemes, are left alone. Each
// distinct URL is fetched once, with at most 4 fetches at a time; r is
// changed only when all succeed.
//
// Errors are *llm.Error of kind llm.KindInvalid and code
// "invalid_image_url", with Param naming the part.
func (f *Fetcher) Inline(ctx context.Context, r *llm.Request) error {
	var (
		remote []site
		urls   []string
		first  = map[string]int{} // URL → its index in urls
		local  []site
		data   []dataURL
	)
	visit := func(s site) error {
		p := s.part
		if p.Kind != llm.PartImage && p.Kind != llm.PartFile || p.URL == "" || p.Data != "" {
			return nil
		}
		scheme, rest, _ := strings.Cut(p.URL, ":")
		switch strings.ToLower(scheme) {
		case "http", "https":
			if _, seen := first[p.URL]; !seen {
				first[p.URL] = len(urls)
				urls = append(urls, p.URL)
			}
			remote = append(remote, s)
		case "data":
			mime, b64, ok := llm.ParseDataURL("data:" + rest)
			if !ok || b64 == "" {
				return &llm.Error{
					Kind: llm.KindInvalid, Code: "invalid_image_url", Param: s.param(),
					Message: "the data URL is malformed: it must be data:<media type>;base64,<data>",
				}
			}
			local = append(local, s)
			data = append(data, dataURL{mime, b64})
		}
		return nil
	}
	for i := range r.Messages {
		parts := r.Messages[i].Parts
		for j := range parts {
			if err := visit(site{&parts[j], i, j, -1}); err != nil {
				return err
			}
			if parts[j].Kind != llm.PartToolResult {
				continue
			}
			for k := range parts[j].Content {
				if err := visit(site{&parts[j].Content[k], i, j, k}); err != nil {
					return err
				}
			}
		}
	}

	results, failed := f.fetchAll(ctx, urls)
	if failed >= 0 {
		for _, s := range remote {
			if s.part.URL == urls[failed] {
				return withParam(results[failed].err, s.param())
			}
		}
	}
	for _, s := range remote {
		res := results[first[s.part.URL]]
		s.part.MIME, s.part.Data, s.part.URL = res.mime, res.data, ""
	}
	for i, s := range local {
		if data[i].mime != "" {
			s.part.MIME = data[i].mime
		}
		s.part.Data, s.part.URL = data[i].data, ""
	}
	return nil
}

type dataURL struct{ mime, data string }

type fetched struct {
	mime, data string
	err        error
}

// fetchAll fetches urls, maxParallel at a time. On the first failure it
// cancels the fetches still running and reports the index of the URL that
// failed; failed is -1 when all succeeded.
func (f *Fetcher) fetchAll(ctx context.Context, urls []string) (results []fetched, failed int) {
	results = make([]fetched, len(urls))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var firstFailure atomic.Int64
	firstFailure.Store(-1)
	var wg sync.WaitGroup
	for range min(maxParallel, len(urls)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(urls) || firstFailure.Load() >= 0 {
					return
				}
				var res fetched
				res.mime, res.data, res.err = f.Fetch(ctx, urls[i])
				results[i] = res
				if res.err != nil && firstFailure.CompareAndSwap(-1, int64(i)) {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	return results, int(firstFailure.Load())
}

// withParam returns a copy of err, an *llm.Error from Fetch, naming param.
func withParam(err error, param string) error {
	c := *llm.AsError(err)
	c.Param = param
	return &c
}
