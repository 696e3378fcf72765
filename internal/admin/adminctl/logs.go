package adminctl

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/admin"
)

func logs(c *cli, args []string) error {
	fs := c.flags()
	user := fs.String("user", "", "only this user's requests (name or id)")
	model := fs.String("model", "", "only requests for this model")
	since := fs.String("since", "", "only requests since: an RFC 3339 time, or a duration ago such as 24h or 7d")
	limit := fs.Int("limit", 50, "rows to show (at most 1000)")
	before := fs.Int64("before", 0, "show rows older than this log id")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *user != "" {
		id, err := c.userID(*user)
		if err != nil {
			return err
		}
		q.Set("user", strconv.FormatInt(id, 10))
	}
	if *model != "" {
		q.Set("model", *model)
	}
	if *since != "" {
		t, err := parseWhen(*since, c.now(), -1)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		q.Set("since", t.UTC().Format(time.RFC3339))
	}
	if *before > 0 {
		q.Set("before", strconv.FormatInt(*before, 10))
	}
	var rows admin.List[admin.RequestLog]
	raw, err := c.call("GET", "/admin/v1/logs?"+q.Encode(), nil, &rows)
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
		row(w, "ID", "TIME (UTC)", "USER", "KEY", "MODEL", "STATUS", "IN", "OUT", "COST", "MS", "SOURCE", "REQUEST")
		for _, r := range rows.Data {
			status := strconv.Itoa(r.Status)
			if r.ErrorClass != "" {
				status += " " + r.ErrorClass
			}
			row(w, r.ID, utc(r.Time), firstSet(names[r.UserID], strconv.FormatInt(r.UserID, 10)), r.KeyPrefix, r.Model,
				status, r.Usage.PromptTokens(), r.Usage.CompletionTokens(), r.Cost, strconv.FormatFloat(r.LatencyMS, 'f', 0, 64),
				string(r.Source), r.RequestID)
		}
		if rows.NextBefore != 0 {
			fmt.Fprintf(w, "\nolder rows: add --before %d\n", rows.NextBefore)
		}
	})
}
