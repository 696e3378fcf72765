package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeUsers() {
	a.handle("GET /admin/v1/users", a.listUsers)
	a.handle("POST /admin/v1/users", a.createUser)
	a.handle("GET /admin/v1/users/{id}", a.getUser)
	a.handle("POST /admin/v1/users/{id}/suspend", a.setUserStatus(store.UserSuspended))
	a.handle("POST /admin/v1/users/{id}/reactivate", a.setUserStatus(store.UserActive))
	a.handle("DELETE /admin/v1/users/{id}", a.deleteUser)
	a.handle("PUT /admin/v1/users/{id}/credit-limit", a.setCreditLimit)
	a.handle("PUT /admin/v1/users/{id}/limits", a.setUserLimits)
}

// User is a user as the API shows it.
type User struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Balance     string `json:"balance"`
	CreditLimit string `json:"credit_limit"`
	// Limits are shared by all the user's keys.
	Limits    RateLimits `json:"limits"`
	CreatedAt time.Time  `json:"created_at"`
}

func viewUser(u store.User) User {
	return User{ID: u.ID, Name: u.Name, Status: u.Status, Balance: u.Balance.USD(),
		CreditLimit: u.CreditLimit.USD(), Limits: viewRate(u.Limits), CreatedAt: u.CreatedAt}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	users, err := a.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(users, viewUser))
	return nil
}

// deletedPrefix starts the names the store gives deleted users.
const deletedPrefix = "deleted-"

// checkUserName also refuses all-digit names, which the CLI could not tell
// from ids.
func checkUserName(name string) error {
	if err := checkName("name", name, 100); err != nil {
		return err
	}
	if strings.Trim(name, "0123456789") == "" {
		return invalid("name cannot be all digits (it would read as a user id)")
	}
	if strings.HasPrefix(name, deletedPrefix) {
		return invalid("name cannot start with %q (reserved for deleted users)", deletedPrefix)
	}
	return nil
}

// CreateUserRequest is the body of POST /admin/v1/users.
type CreateUserRequest struct {
	Name        string      `json:"name"`
	CreditLimit *string     `json:"credit_limit,omitempty"` // USD
	Limits      *RateLimits `json:"limits,omitempty"`
}

// CreditLimitRequest is the body of PUT /admin/v1/users/{id}/credit-limit.
type CreditLimitRequest struct {
	CreditLimit *string `json:"credit_limit"` // USD; "0" for none
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var body CreateUserRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	body.Name = strings.TrimSpace(body.Name)
	if err := checkUserName(body.Name); err != nil {
		return err
	}
	limit, err := optUSD("credit_limit", body.CreditLimit)
	if err != nil {
		return err
	}
	var rl store.Limits
	if body.Limits != nil {
		if rl, err = rate("limits", *body.Limits); err != nil {
			return err
		}
	}
	u, err := a.st.CreateUser(r.Context(), body.Name)
	if errors.Is(err, store.ErrConflict) {
		return conflict("a user named %q already exists", body.Name)
	}
	if err != nil {
		return err
	}
	// Both are set after the user exists; should one fail, the answer says
	// which and how to retry it.
	var failed, retry string
	if limit != 0 {
		if err = a.st.SetCreditLimit(r.Context(), u.ID, limit); err == nil {
			u.CreditLimit = limit
		} else {
			failed, retry = "its credit limit", "credit-limit"
		}
	}
	if err == nil && rl != (store.Limits{}) {
		if err = a.st.SetUserLimits(r.Context(), u.ID, rl); err == nil {
			u.Limits = rl
		} else {
			failed, retry = "its rate limits", "limits"
		}
	}
	if rerr := a.changed(r, "user created", "user", u.ID, "name", u.Name, "credit_limit", u.CreditLimit.USD(),
		"limits", u.Limits); rerr != nil {
		return rerr
	}
	if err != nil {
		return &apiError{status: http.StatusInternalServerError, code: "partial_failure", cause: err,
			msg: fmt.Sprintf("user %d was created, but %s could not be set; retry with PUT /admin/v1/users/%d/%s",
				u.ID, failed, u.ID, retry)}
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

// user loads the user named by the {id} wildcard.
func (a *API) user(r *http.Request) (store.User, error) {
	id, err := pathID(r)
	if err != nil {
		return store.User{}, err
	}
	u, err := a.st.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return u, notFound("user %d not found", id)
	}
	return u, err
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.user(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (a *API) setUserStatus(status string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := a.st.SetUserStatus(r.Context(), id, status); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound("user %d not found", id)
			}
			return err
		}
		if err := a.changed(r, "user status set", "user", id, "status", status); err != nil {
			return err
		}
		return a.getUser(w, r)
	}
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteUser(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "user deleted", "user", id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setCreditLimit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body CreditLimitRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.CreditLimit == nil {
		return invalid("credit_limit is required: a decimal USD string such as \"50\" (\"0\" for none)")
	}
	limit, err := optUSD("credit_limit", body.CreditLimit)
	if err != nil {
		return err
	}
	if err := a.st.SetCreditLimit(r.Context(), id, limit); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "credit limit set", "user", id, "credit_limit", limit.USD()); err != nil {
		return err
	}
	return a.getUser(w, r)
}

// setUserLimits replaces a user's rate limits: those absent from the body
// become unlimited.
func (a *API) setUserLimits(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body RateLimits
	if err := decode(r, &body); err != nil {
		return err
	}
	l, err := rate("", body)
	if err != nil {
		return err
	}
	if err := a.st.SetUserLimits(r.Context(), id, l); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "user limits set", "user", id, "limits", l); err != nil {
		return err
	}
	return a.getUser(w, r)
}
