package console

import (
	"net/http"
	"strings"
)

func (c *Console) deleteAccountPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := c.newView(r, s, "delete.title")
	c.render(w, http.StatusOK, "account_delete", v)
}

// deleteAccount deletes the signed-in user once they typed their username:
// every key is revoked, every session ended, and the account marked
// deleted (its ledger and logs stay, as financial records).
func (c *Console) deleteAccount(w http.ResponseWriter, r *http.Request, s *session) {
	if strings.TrimSpace(r.PostFormValue("username")) != s.user.Name {
		v := c.newView(r, s, "delete.title")
		v.Error = v.T("err.delete_confirm")
		c.render(w, http.StatusBadRequest, "account_delete", v)
		return
	}
	if err := c.st.DeleteUser(r.Context(), s.UserID); err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	// The keys stop working once the request path reloads; if that fails
	// they are still revoked in the database, and the next reload (or the
	// user's inactive status) takes effect.
	if err := c.reload(r, "account deleted by its user", "user", s.UserID); err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError, "err.reload")
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
