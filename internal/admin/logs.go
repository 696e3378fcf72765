package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeLogs() {
	a.handle("GET /admin/v1/logs", a.logs)
}

// RequestLog is one request's metadata; no prompt or output is ever logged.
type RequestLog struct {
	ID         int64      `json:"id"`
	Time       time.Time  `json:"time"`
	RequestID  string     `json:"request_id"`
	UserID     int64      `json:"user_id"`
	KeyID      int64      `json:"key_id"`
	KeyPrefix  string     `json:"key_prefix"`
	Model      string     `json:"model"`
	ChannelID  int64      `json:"channel_id"`
	ClientIP   string     `json:"client_ip"`
	Stream     bool       `json:"stream"`
	Usage      llm.Usage  `json:"usage"`
	Source     llm.Source `json:"usage_source"`
	Cost       string     `json:"cost"`
	LatencyMS  float64    `json:"latency_ms"`
	TTFTMS     float64    `json:"ttft_ms"`
	Status     int        `json:"status"`
	ErrorClass string     `json:"error_class,omitempty"`
}

func viewLog(l store.RequestLog) RequestLog {
	return RequestLog{ID: l.ID, Time: l.Time, RequestID: l.RequestID, UserID: l.UserID, KeyID: l.KeyID,
		KeyPrefix: l.KeyPrefix, Model: l.Model, ChannelID: l.ChannelID, ClientIP: l.ClientIP, Stream: l.Stream,
		Usage: l.Usage, Source: l.Source, Cost: l.Cost.USD(), LatencyMS: l.LatencyMS, TTFTMS: l.TTFTMS,
		Status: l.Status, ErrorClass: l.ErrorClass}
}

func (a *API) logs(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "user", "model", "since", "before", "limit")
	if err != nil {
		return err
	}
	var f store.LogFilter
	if f.UserID, err = queryInt(q, "user", 1, 1<<62, 0); err != nil {
		return err
	}
	f.Model = strings.TrimSpace(q.Get("model"))
	if s := q.Get("since"); s != "" {
		if f.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return invalid("since must be an RFC 3339 time such as \"2030-01-02T15:04:05Z\"")
		}
	}
	if f.BeforeID, err = queryInt(q, "before", 1, 1<<62, 0); err != nil {
		return err
	}
	limit, err := queryInt(q, "limit", 1, maxLimit, defaultLimit)
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	rows, err := a.st.RequestLogs(r.Context(), f)
	if err != nil {
		return err
	}
	out := listOf(rows, viewLog)
	if n := len(rows); n > 0 {
		out.NextBefore = nextBefore(n, f.Limit, rows[n-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
