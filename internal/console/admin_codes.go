package console

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// codeRow is a code with the name of who redeemed it.
type codeRow struct {
	store.Code
	By string
}

type adminCodesData struct {
	Codes   []codeRow
	New     []string     // plaintexts just created, shown once
	CSV     template.URL // data: URL of New as CSV
	Batch   string
	Amount  string
	Expires string
}

func (c *Console) adminCodes(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderCodes(w, r, s, http.StatusOK, "", adminCodesData{})
}

func (c *Console) renderCodes(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string, d adminCodesData) {
	codes, err := c.st.ListCodes(r.Context(), "")
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	// Newest first.
	for i, j := 0, len(codes)-1; i < j; i, j = i+1, j-1 {
		codes[i], codes[j] = codes[j], codes[i]
	}
	names := map[int64]string{}
	for _, cd := range codes {
		row := codeRow{Code: cd}
		if cd.RedeemedBy != nil {
			id := *cd.RedeemedBy
			if _, ok := names[id]; !ok {
				names[id] = strconv.FormatInt(id, 10)
				if u, err := c.st.GetUser(r.Context(), id); err == nil {
					names[id] = u.Name
				}
			}
			row.By = names[id]
		}
		d.Codes = append(d.Codes, row)
	}
	v := c.newView(r, s, "admin.codes.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	v.Data = d
	c.render(w, status, "admin_codes", v)
}

// adminCreateCodes makes a batch and shows its codes once, with a CSV of
// them built in the same response: the plaintexts are not stored.
func (c *Console) adminCreateCodes(w http.ResponseWriter, r *http.Request, s *session) {
	d := adminCodesData{Batch: strings.TrimSpace(r.PostFormValue("batch")),
		Amount: strings.TrimSpace(r.PostFormValue("amount")), Expires: strings.TrimSpace(r.PostFormValue("expires"))}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("count")))
	if err != nil || n <= 0 || n > store.MaxCodeBatch {
		c.renderCodes(w, r, s, http.StatusBadRequest, "admin.err.count", d)
		return
	}
	amount, err := billing.ParseUSD(strings.TrimPrefix(d.Amount, "$"))
	if err != nil || amount <= 0 {
		c.renderCodes(w, r, s, http.StatusBadRequest, "admin.err.code_amount", d)
		return
	}
	if len(d.Batch) > store.MaxBatchLength || strings.ContainsFunc(d.Batch, isControl) {
		c.renderCodes(w, r, s, http.StatusBadRequest, "admin.err.batch", d)
		return
	}
	var expires *time.Time
	if d.Expires != "" {
		t, err := time.Parse("2006-01-02", d.Expires)
		// Valid through the whole of that day (UTC).
		if t = t.AddDate(0, 0, 1); err != nil || !t.After(c.now()) {
			c.renderCodes(w, r, s, http.StatusBadRequest, "admin.err.expires", d)
			return
		}
		expires = &t
	}
	codes, err := c.st.CreateCodes(r.Context(), d.Batch, n, amount, expires)
	if errors.Is(err, store.ErrInvalid) {
		c.renderCodes(w, r, s, http.StatusBadRequest, "admin.err.code_amount", d)
		return
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	exp := "never"
	if expires != nil {
		exp = expires.UTC().Format(time.RFC3339)
	}
	c.audit(r, s, "codes.create", "batch "+strconv.Quote(d.Batch),
		fmt.Sprintf("count=%d amount=%s expires=%s", n, amount.USD(), exp))
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"code", "amount_usd", "expires_at", "batch"})
	for _, code := range codes {
		_ = cw.Write([]string{code, amount.USD(), exp, d.Batch})
	}
	cw.Flush()
	d.New = codes
	d.CSV = template.URL("data:text/csv;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
	d.Amount, d.Expires = "", ""
	c.renderCodes(w, r, s, http.StatusOK, "", d)
}
