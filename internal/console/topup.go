package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

type topupData struct {
	Balance  billing.Micros
	Credited billing.Micros // the amount just redeemed; 0: none
}

// maxCodeLength bounds what the code field may hold.
const maxCodeLength = 64

func (c *Console) topupPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderTopup(w, r, s, http.StatusOK, 0, "")
}

// renderTopup shows the top-up page with the balance as it is now (a
// redemption may just have changed it).
func (c *Console) renderTopup(w http.ResponseWriter, r *http.Request, s *session, status int, credited billing.Micros, errMsg string) {
	u, err := c.st.GetUser(r.Context(), s.UserID)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	v := c.newView(r, s, "topup.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	if credited > 0 {
		v.Notice = v.T("topup.done", "$"+credited.USD())
	}
	v.Data = topupData{Balance: c.balance(u), Credited: credited}
	c.render(w, status, "topup", v)
}

func (c *Console) redeem(w http.ResponseWriter, r *http.Request, s *session) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" || len(code) > maxCodeLength {
		c.renderTopup(w, r, s, http.StatusBadRequest, 0, "err.code_unknown")
		return
	}
	// Guessing codes is throttled like guessing passwords.
	key := "code|" + s.Digest
	now := c.now()
	if c.throttle.blocked(key, now) {
		c.log.Warn("console: code redemption throttled", "user", s.UserID)
		c.renderTopup(w, r, s, http.StatusTooManyRequests, 0, "err.throttled")
		return
	}
	e, err := c.st.RedeemCode(r.Context(), s.UserID, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.throttle.fail(key, now)
		c.renderTopup(w, r, s, http.StatusBadRequest, 0, "err.code_unknown")
		return
	case errors.Is(err, store.ErrCodeRedeemed):
		c.renderTopup(w, r, s, http.StatusConflict, 0, "err.code_redeemed")
		return
	case errors.Is(err, store.ErrCodeExpired):
		c.renderTopup(w, r, s, http.StatusBadRequest, 0, "err.code_expired")
		return
	case err != nil:
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	// The credit is in the database; the request path's balance (kept in
	// memory on SQLite) must see it too.
	if err := c.reload(r, "code redeemed", "user", s.UserID, "amount", e.Amount.USD(), "entry", e.ID); err != nil {
		c.renderTopup(w, r, s, http.StatusInternalServerError, e.Amount, "err.reload")
		return
	}
	c.renderTopup(w, r, s, http.StatusOK, e.Amount, "")
}
