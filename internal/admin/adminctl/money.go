package adminctl

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/admin"
)

// credit tops up (kind "topup") or adjusts (kind "adjust") a balance.
func credit(kind string) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		fs := c.flags()
		route, text := "/topups", new(string)
		if kind == "adjust" {
			route = "/adjustments"
			fs.StringVar(text, "reason", "", "why the balance is adjusted (required)")
		} else {
			fs.StringVar(text, "note", "", "a note kept with the entry")
		}
		key := fs.String("idempotency-key", "", "a retry with the same key is applied once")
		path, pos, err := c.userPath(fs, args, "AMOUNT")
		if err != nil {
			return err
		}
		var req any = admin.TopUpRequest{Amount: pos[1], Note: *text, IdempotencyKey: *key}
		if kind == "adjust" {
			req = admin.AdjustmentRequest{Amount: pos[1], Reason: *text, IdempotencyKey: *key}
		}
		var res admin.Credited
		raw, err := c.call("POST", path+route, req, &res)
		if err != nil {
			return err
		}
		e := res.Entry
		if c.json {
			return c.show(raw, nil)
		}
		if !res.Applied {
			return c.done("already applied (idempotency key %s): entry %d of %s USD; nothing changed", e.Ref, e.ID, e.Amount)
		}
		return c.done("%s of %s USD for %s: entry %d, balance now %s USD", kind, e.Amount, pos[0], e.ID, e.BalanceAfter)
	}
}

func ledger(c *cli, args []string) error {
	fs := c.flags()
	limit := fs.Int("limit", 20, "entries to show (at most 1000)")
	before := fs.Int64("before", 0, "show entries older than this entry id")
	path, pos, err := c.userPath(fs, args)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *before > 0 {
		q.Set("before", strconv.FormatInt(*before, 10))
	}
	var l admin.Ledger
	raw, err := c.call("GET", path+"/ledger?"+q.Encode(), nil, &l)
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) {
		fmt.Fprintf(w, "%s: balance %s USD, ledger sum %s USD\n\n", pos[0], l.Balance, l.LedgerSum)
		row(w, "ID", "TIME (UTC)", "KIND", "AMOUNT", "BALANCE_AFTER", "REF", "NOTE")
		for _, e := range l.Data {
			row(w, e.ID, utc(e.CreatedAt), e.Kind, e.Amount, e.BalanceAfter, e.Ref, e.Note)
		}
		if l.NextBefore != 0 {
			fmt.Fprintf(w, "\nolder entries: tokenhot ledger %s --before %d\n", pos[0], l.NextBefore)
		}
	})
}
