package adminctl

import (
	"encoding/json"
	"io"
	"net/url"

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
		row(w, "max output tokens:", m.MaxOutputTokens)
		row(w, "limits:", rateText(m.Limits))
	})
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
	fs.StringVar(&req.Status, "status", "available", "available, experimental, deprecated or offline")
	fs.Int64Var(&req.MaxOutputTokens, "max-output-tokens", 0, "output tokens reserved for a request that sets no max_tokens")
	rf := addRateFlags(fs)
	pos, err := c.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
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
