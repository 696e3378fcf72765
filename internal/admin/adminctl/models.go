package adminctl

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/tokenhot/tokenhot/internal/admin"
)

func modelList(c *cli, args []string) error {
	if _, err := c.parse(c.flags(), args); err != nil {
		return err
	}
	var models admin.List[admin.Model]
	raw, err := c.call("GET", "/admin/v1/models", nil, &models)
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "NAME", "STATUS", "INPUT", "OUTPUT", "CACHED_INPUT", "CACHE_WRITE", "REASONING", "PER_REQUEST", "MAX_OUTPUT", "LIMITS")
		for _, m := range models.Data {
			p := m.Price
			row(w, m.Name, m.Status, p.Input, p.Output, p.CachedInput, p.CacheWrite, p.Reasoning, p.PerRequest,
				m.MaxOutputTokens, rateText(m.Limits))
		}
	})
}

func (c *cli) showModel(raw []byte, err error) error {
	var m admin.Model
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return err
	}
	p := m.Price
	return c.show(raw, func(w io.Writer) {
		row(w, "name:", m.Name)
		row(w, "status:", m.Status)
		row(w, "input:", p.Input+" USD/1M tokens")
		row(w, "output:", p.Output+" USD/1M tokens")
		row(w, "cached input:", firstSet(p.CachedInput, "as input"))
		row(w, "cache write:", firstSet(p.CacheWrite, "as input"))
		row(w, "reasoning:", firstSet(p.Reasoning, "as output"))
		row(w, "per request:", firstSet(p.PerRequest, "0")+" USD")
		if p.PerImage != "" || len(p.Images) > 0 {
			row(w, "per image:", firstSet(p.PerImage, "-")+" USD")
			row(w, "image prices:", pricesText(p.Images))
		}
		if p.PerSecond != "" || len(p.Seconds) > 0 {
			row(w, "per second:", firstSet(p.PerSecond, "-")+" USD")
			row(w, "second prices:", pricesText(p.Seconds))
		}
		row(w, "max output tokens:", m.MaxOutputTokens)
		row(w, "limits:", rateText(m.Limits))
	})
}

// pricesText shows a media price map as "1024x1024/high=0.167, 2K=0.03".
func pricesText(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

// pricesFlag reads a media price map given as a JSON object of USD amounts,
// strings or numbers: '{"1024x1024/high": "0.167", "2K": 0.03}'. Numbers
// keep their decimal text; they never pass through a float.
type pricesFlag struct{ m map[string]string }

func (f *pricesFlag) String() string {
	if f == nil || f.m == nil {
		return ""
	}
	b, _ := json.Marshal(f.m)
	return string(b)
}

func (f *pricesFlag) Set(s string) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("want a JSON object such as '{\"1024x1024/high\": \"0.167\"}': %w", err)
	}
	if dec.More() {
		return fmt.Errorf("want one JSON object")
	}
	f.m = make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			f.m[k] = v
		case json.Number:
			f.m[k] = v.String()
		default:
			return fmt.Errorf("%q: want a USD amount, a string or a number", k)
		}
	}
	return nil
}

func modelPath(name string) string { return "/admin/v1/models/" + url.PathEscape(name) }

func modelSet(c *cli, args []string) error {
	fs := c.flags()
	var req admin.ModelRequest
	p := &admin.Price{}
	fs.StringVar(&p.Input, "input", "", "USD per 1M input tokens (required)")
	fs.StringVar(&p.Output, "output", "", "USD per 1M output tokens (required)")
	fs.StringVar(&p.CachedInput, "cached-input", "", "USD per 1M cached input tokens (default: as input)")
	fs.StringVar(&p.CacheWrite, "cache-write", "", "USD per 1M cache-write tokens (default: as input)")
	fs.StringVar(&p.Reasoning, "reasoning", "", "USD per 1M reasoning tokens (default: as output)")
	fs.StringVar(&p.PerRequest, "per-request", "", "USD per request")
	fs.StringVar(&p.PerImage, "per-image", "", "USD per generated image, for a size without its own price")
	fs.StringVar(&p.PerSecond, "per-second", "", "USD per second of generated video, for a resolution without its own price")
	var images, seconds pricesFlag
	fs.Var(&images, "image-prices", `USD per image by "<size>" or "<size>/<quality>", as JSON: '{"1024x1024/high":"0.167","2K":"0.03"}'`)
	fs.Var(&seconds, "second-prices", `USD per second of video by resolution, as JSON: '{"720p":"0.10","1080p":"0.25"}'`)
	fs.StringVar(&req.Status, "status", "available", "available, experimental, deprecated or offline")
	fs.Int64Var(&req.MaxOutputTokens, "max-output-tokens", 0, "output tokens reserved for a request that sets no max_tokens")
	rf := addRateFlags(fs)
	pos, err := c.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	p.Images, p.Seconds = images.m, seconds.m
	req.Price = p
	if set := given(fs); rf.given(set) {
		req.Limits = &admin.RateLimits{}
		if err := rf.apply(set, req.Limits); err != nil {
			return err
		}
	}
	return c.showModel(c.call("PUT", modelPath(pos[0]), req, nil))
}

func modelShow(c *cli, args []string) error {
	pos, err := c.parse(c.flags(), args, "NAME")
	if err != nil {
		return err
	}
	return c.showModel(c.call("GET", modelPath(pos[0]), nil, nil))
}

func modelDelete(c *cli, args []string) error {
	pos, err := c.parse(c.flags(), args, "NAME")
	if err != nil {
		return err
	}
	if _, err := c.call("DELETE", modelPath(pos[0]), nil, nil); err != nil {
		return err
	}
	return c.done("deleted model %s", pos[0])
}
