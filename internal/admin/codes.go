package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeCodes() {
	a.handle("POST /admin/v1/codes", a.createCodes)
	a.handle("GET /admin/v1/codes", a.listCodes)
}

// CodesRequest is the body of POST /admin/v1/codes.
type CodesRequest struct {
	Count     int        `json:"count"`  // 1 to 1000
	Amount    string     `json:"amount"` // USD per code, > 0
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Batch     string     `json:"batch,omitempty"`
}

// CreatedCodes answers POST /admin/v1/codes: the plaintext codes, shown
// only this once.
type CreatedCodes struct {
	Batch     string     `json:"batch"`
	Amount    string     `json:"amount"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Codes     []string   `json:"codes"`
}

// Code is a redemption code as GET /admin/v1/codes shows it: its prefix,
// never the code.
type Code struct {
	Prefix     string     `json:"prefix"`
	Amount     string     `json:"amount"`
	Batch      string     `json:"batch"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RedeemedBy *int64     `json:"redeemed_by,omitempty"`
	RedeemedAt *time.Time `json:"redeemed_at,omitempty"`
}

func viewCode(c store.Code) Code {
	return Code{Prefix: c.Prefix, Amount: c.Amount.USD(), Batch: c.Batch, ExpiresAt: c.ExpiresAt,
		CreatedAt: c.CreatedAt, RedeemedBy: c.RedeemedBy, RedeemedAt: c.RedeemedAt}
}

func (a *API) createCodes(w http.ResponseWriter, r *http.Request) error {
	var body CodesRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Count < 1 || body.Count > store.MaxCodeBatch {
		return invalid("count must be from 1 to %d", store.MaxCodeBatch)
	}
	amount, err := usd("amount", body.Amount)
	if err != nil {
		return err
	}
	if amount <= 0 {
		return invalid("amount must be greater than zero")
	}
	body.Batch = strings.TrimSpace(body.Batch)
	if body.Batch != "" {
		if err := checkName("batch", body.Batch, store.MaxBatchLength); err != nil {
			return err
		}
	}
	if body.ExpiresAt != nil && !body.ExpiresAt.After(a.now()) {
		return invalid("expires_at must be in the future")
	}
	codes, err := a.st.CreateCodes(r.Context(), body.Batch, body.Count, amount, body.ExpiresAt)
	if err != nil {
		return err
	}
	// Nothing the request path reads changed, but every admin write
	// reloads, so operators can rely on one rule.
	if err := a.changed(r, "redemption codes created", "count", len(codes), "amount", amount.USD(),
		"batch", body.Batch); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, CreatedCodes{Batch: body.Batch, Amount: amount.USD(), ExpiresAt: body.ExpiresAt,
		Codes: codes})
	return nil
}

func (a *API) listCodes(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "batch")
	if err != nil {
		return err
	}
	codes, err := a.st.ListCodes(r.Context(), strings.TrimSpace(q.Get("batch")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(codes, viewCode))
	return nil
}
