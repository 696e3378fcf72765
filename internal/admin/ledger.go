package admin

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeMoney() {
	a.handle("POST /admin/v1/users/{id}/topups", a.topUp)
	a.handle("POST /admin/v1/users/{id}/adjustments", a.adjust)
	a.handle("GET /admin/v1/users/{id}/ledger", a.ledger)
}

// Entry is a ledger entry as the API shows it.
type Entry struct {
	ID           int64     `json:"id"`
	UserID       int64     `json:"user_id"`
	Kind         string    `json:"kind"`
	Amount       string    `json:"amount"`
	BalanceAfter string    `json:"balance_after"`
	Ref          string    `json:"ref"`
	Note         string    `json:"note,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func viewEntry(e store.Entry) Entry {
	return Entry{ID: e.ID, UserID: e.UserID, Kind: e.Kind, Amount: e.Amount.USD(),
		BalanceAfter: e.BalanceAfter.USD(), Ref: e.Ref, Note: e.Note, CreatedAt: e.Created}
}

// TopUpRequest is the body of POST /admin/v1/users/{id}/topups.
type TopUpRequest struct {
	Amount         string `json:"amount"` // USD, > 0
	Note           string `json:"note,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// AdjustmentRequest is the body of POST /admin/v1/users/{id}/adjustments.
type AdjustmentRequest struct {
	Amount         string `json:"amount"` // USD, != 0, may be negative
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// Credited answers a top-up or an adjustment. Applied is false when the
// idempotency key was seen before; Entry is then the original entry.
type Credited struct {
	Entry   Entry `json:"entry"`
	Applied bool  `json:"applied"`
}

// Ledger answers GET /admin/v1/users/{id}/ledger: entries newest first, and
// the balance next to the sum of all entries, which must be equal.
type Ledger struct {
	UserID    int64  `json:"user_id"`
	Balance   string `json:"balance"`
	LedgerSum string `json:"ledger_sum"`
	List[Entry]
}

// maxRef bounds idempotency keys, notes and reasons.
const maxRef = 200

func (a *API) topUp(w http.ResponseWriter, r *http.Request) error {
	var body TopUpRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	amount, err := usd("amount", body.Amount)
	if err != nil {
		return err
	}
	if amount <= 0 {
		return invalid("amount must be greater than zero (an adjustment can take money away)")
	}
	if len(body.Note) > maxRef {
		return invalid("note is longer than %d bytes", maxRef)
	}
	return a.credit(w, r, store.EntryTopUp, amount, body.IdempotencyKey, body.Note)
}

func (a *API) adjust(w http.ResponseWriter, r *http.Request) error {
	var body AdjustmentRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	amount, err := usd("amount", body.Amount)
	if err != nil {
		return err
	}
	if amount == 0 {
		return invalid("amount cannot be zero")
	}
	if strings.TrimSpace(body.Reason) == "" {
		return invalid("reason is required for an adjustment")
	}
	if len(body.Reason) > maxRef {
		return invalid("reason is longer than %d bytes", maxRef)
	}
	return a.credit(w, r, store.EntryAdjust, amount, body.IdempotencyKey, body.Reason)
}

// credit appends a top-up or an adjustment, idempotently by key: a replay
// returns the original entry, with 200 instead of 201 and applied false.
// Without a key every call is a new entry.
func (a *API) credit(w http.ResponseWriter, r *http.Request, kind string, amount billing.Micros, ref, note string) error {
	if ref != "" {
		if err := checkName("idempotency_key", ref, maxRef); err != nil {
			return err
		}
	}
	u, err := a.user(r)
	if err != nil {
		return err
	}
	if u.Status == store.UserDeleted {
		return conflict("user %d is deleted", u.ID)
	}
	// Without a key the store makes a unique one, returned as the entry's ref.
	e, applied, err := a.st.Credit(r.Context(), u.ID, kind, amount, ref, note)
	if errors.Is(err, store.ErrConflict) {
		// Keys are unique per kind across users: a key reused for other
		// money must not pass for a replay.
		return conflict("idempotency_key %q was already used for a different %s", ref, kind)
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if applied {
		status = http.StatusCreated
		if err := a.changed(r, "balance credited", "user", u.ID, "kind", kind, "amount", amount.USD(), "ref", e.Ref); err != nil {
			return err
		}
	}
	writeJSON(w, status, Credited{Entry: viewEntry(e), Applied: applied})
	return nil
}

func (a *API) ledger(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "before", "limit")
	if err != nil {
		return err
	}
	before, err := queryInt(q, "before", 1, 1<<62, 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(q, "limit", 1, maxLimit, defaultLimit)
	if err != nil {
		return err
	}
	u, err := a.user(r)
	if err != nil {
		return err
	}
	entries, err := a.st.Entries(r.Context(), u.ID, before, int(limit))
	if err != nil {
		return err
	}
	sum, err := a.st.LedgerSum(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := Ledger{UserID: u.ID, Balance: u.Balance.USD(), LedgerSum: sum.USD(), List: listOf(entries, viewEntry)}
	if n := len(entries); n > 0 {
		out.NextBefore = nextBefore(n, int(limit), entries[n-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
