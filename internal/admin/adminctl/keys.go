package adminctl

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/admin"
)

// limitFlags are the flags of key create and key limits.
type limitFlags struct {
	expires, spend, models, ips *string
	rate                        rateFlags
}

func addLimitFlags(fs *flag.FlagSet) limitFlags {
	return limitFlags{
		expires: fs.String("expires", "", "expiry: RFC 3339 time, or a duration from now such as 720h or 30d (none: never)"),
		spend:   fs.String("spend-limit", "", "most the key may spend, in USD (none: no limit)"),
		models:  fs.String("models", "", "comma-separated models the key may call (none: all)"),
		ips:     fs.String("ips", "", "comma-separated IPs or CIDRs the key may be used from (none: all)"),
		rate:    addRateFlags(fs),
	}
}

// apply changes the limits whose flags were given.
func (f limitFlags) apply(set map[string]bool, l *admin.Limits, now time.Time) error {
	if set["expires"] {
		l.ExpiresAt = nil
		if *f.expires != "" && *f.expires != "none" {
			t, err := parseWhen(*f.expires, now, 1)
			if err != nil {
				return fmt.Errorf("--expires: %w", err)
			}
			s := t.UTC().Format(time.RFC3339)
			l.ExpiresAt = &s
		}
	}
	if set["spend-limit"] {
		l.SpendLimit = nil
		if s := *f.spend; s != "" && s != "none" && s != "0" {
			l.SpendLimit = &s
		}
	}
	if set["models"] {
		l.AllowedModels = splitList(*f.models)
	}
	if set["ips"] {
		l.AllowedIPs = splitList(*f.ips)
	}
	return f.rate.apply(set, &l.RateLimits)
}

func limitsText(l admin.Limits) string {
	var parts []string
	if l.SpendLimit != nil {
		parts = append(parts, "spend<="+*l.SpendLimit+" USD")
	}
	if l.ExpiresAt != nil {
		parts = append(parts, "expires "+*l.ExpiresAt)
	}
	if len(l.AllowedModels) > 0 {
		parts = append(parts, "models "+strings.Join(l.AllowedModels, ","))
	}
	if len(l.AllowedIPs) > 0 {
		parts = append(parts, "ips "+strings.Join(l.AllowedIPs, ","))
	}
	parts = append(parts, rateParts(l.RateLimits)...)
	return strings.Join(parts, "; ")
}

// keyStatus says "expired" of an active key past its expiry.
func keyStatus(k admin.Key, now time.Time) string {
	if k.Status == "active" && k.Limits.ExpiresAt != nil {
		if t, err := time.Parse(time.RFC3339, *k.Limits.ExpiresAt); err == nil && !now.Before(t) {
			return "expired"
		}
	}
	return k.Status
}

func keyCreate(c *cli, args []string) error {
	fs := c.flags()
	name := fs.String("name", "", `a name for the key (default "default")`)
	lf := addLimitFlags(fs)
	path, _, err := c.userPath(fs, args)
	if err != nil {
		return err
	}
	req := admin.CreateKeyRequest{Name: *name}
	if err := lf.apply(given(fs), &req.Limits, c.now()); err != nil {
		return err
	}
	var k admin.CreatedKey
	raw, err := c.call("POST", path+"/keys", req, &k)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "Save this key now: it is shown only this once and cannot be recovered.")
	return c.show(raw, func(w io.Writer) {
		row(w, "key:", k.Secret)
		c.keyRows(w, k.Key)
	})
}

func (c *cli) keyRows(w io.Writer, k admin.Key) {
	row(w, "id:", k.ID)
	row(w, "user:", k.UserID)
	row(w, "name:", k.Name)
	row(w, "prefix:", k.Prefix)
	row(w, "status:", keyStatus(k, c.now()))
	row(w, "spent:", k.Spent+" USD")
	row(w, "limits:", limitsText(k.Limits))
	row(w, "created:", utc(k.CreatedAt))
}

func keyList(c *cli, args []string) error {
	fs := c.flags()
	user := fs.String("user", "", "only the keys of this user (name or id)")
	prefix := fs.String("prefix", "", "only keys whose prefix starts with this")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	if *user != "" {
		id, err := c.userID(*user)
		if err != nil {
			return err
		}
		q.Set("user", strconv.FormatInt(id, 10))
	}
	if *prefix != "" {
		q.Set("prefix", *prefix)
	}
	var keys admin.List[admin.Key]
	raw, err := c.call("GET", "/admin/v1/keys?"+q.Encode(), nil, &keys)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	if !c.json {
		if names, err = c.userNames(); err != nil {
			return err
		}
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "ID", "USER", "NAME", "PREFIX", "STATUS", "SPENT", "LIMITS", "CREATED")
		for _, k := range keys.Data {
			row(w, k.ID, firstSet(names[k.UserID], strconv.FormatInt(k.UserID, 10)), k.Name, k.Prefix,
				keyStatus(k, c.now()), k.Spent, limitsText(k.Limits), utc(k.CreatedAt))
		}
	})
}

func (c *cli) keyPath(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := c.parse(fs, args, "ID")
	if err != nil {
		return "", err
	}
	id, err := id64(pos[0])
	return "/admin/v1/keys/" + strconv.FormatInt(id, 10), err
}

func (c *cli) showKey(raw []byte, err error) error {
	var k admin.Key
	if err == nil {
		err = json.Unmarshal(raw, &k)
	}
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) { c.keyRows(w, k) })
}

// keyAction shows a key (verb "") or revokes it.
func keyAction(verb string) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		path, err := c.keyPath(c.flags(), args)
		if err != nil {
			return err
		}
		if verb == "" {
			return c.showKey(c.call("GET", path, nil, nil))
		}
		return c.showKey(c.call("POST", path+"/"+verb, nil, nil))
	}
}

// keyLimits changes the limits named by flags and keeps the others.
func keyLimits(c *cli, args []string) error {
	fs := c.flags()
	lf := addLimitFlags(fs)
	path, err := c.keyPath(fs, args)
	if err != nil {
		return err
	}
	set := given(fs)
	if !set["expires"] && !set["spend-limit"] && !set["models"] && !set["ips"] && !lf.rate.given(set) {
		return errors.New("nothing to change: give --expires, --spend-limit, --models, --ips, --rpm, --tpm or --concurrent")
	}
	var k admin.Key
	if _, err := c.call("GET", path, nil, &k); err != nil {
		return err
	}
	if err := lf.apply(set, &k.Limits, c.now()); err != nil {
		return err
	}
	return c.showKey(c.call("PUT", path+"/limits", k.Limits, nil))
}
