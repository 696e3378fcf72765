package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/store"
)

// RoleRequest is the body of PUT /admin/v1/users/{id}/role.
type RoleRequest struct {
	Role string `json:"role"` // "user" or "admin"
}

// RoleAnswer answers PUT /admin/v1/users/{id}/role.
type RoleAnswer struct {
	ID   int64  `json:"id"`
	Role string `json:"role"`
}

func (a *API) routeRoles() {
	a.handle("PUT /admin/v1/users/{id}/role", a.setRole)
}

// setRole makes a user a console admin or a plain user, and records it in
// the audit log (actor 0: the admin token).
func (a *API) setRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body RoleRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Role != store.RoleUser && body.Role != store.RoleAdmin {
		return invalid("role must be %q or %q", store.RoleUser, store.RoleAdmin)
	}
	if err := a.st.SetUserRole(r.Context(), id, body.Role); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user %d not found", id)
		}
		return err
	}
	if err := a.st.AddAudit(r.Context(), store.AuditEntry{Action: "user.role",
		Target: "user " + strconv.FormatInt(id, 10), Detail: "role=" + body.Role + " (admin API)"}); err != nil {
		return err
	}
	a.log.Info("admin: user role set", "user", id, "role", body.Role)
	writeJSON(w, http.StatusOK, RoleAnswer{ID: id, Role: body.Role})
	return nil
}
