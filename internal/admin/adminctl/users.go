package adminctl

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/admin"
)

// userID resolves a user name or id.
func (c *cli) userID(s string) (int64, error) {
	if id, err := id64(s); err == nil {
		return id, nil
	}
	names, err := c.userNames()
	if err != nil {
		return 0, err
	}
	for id, n := range names {
		if n == s {
			return id, nil
		}
	}
	return 0, fmt.Errorf("no user named %q (tokenhot user list shows them)", s)
}

func (c *cli) userNames() (map[int64]string, error) {
	var users admin.List[admin.User]
	if _, err := c.call("GET", "/admin/v1/users", nil, &users); err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(users.Data))
	for _, u := range users.Data {
		m[u.ID] = u.Name
	}
	return m, nil
}

// userPath parses the arguments USER and names, and returns the user's
// API path and the arguments.
func (c *cli) userPath(fs *flag.FlagSet, args []string, names ...string) (string, []string, error) {
	pos, err := c.parse(fs, args, append([]string{"USER"}, names...)...)
	if err != nil {
		return "", nil, err
	}
	id, err := c.userID(pos[0])
	if err != nil {
		return "", nil, err
	}
	return "/admin/v1/users/" + strconv.FormatInt(id, 10), pos, nil
}

func userList(c *cli, args []string) error {
	if _, err := c.parse(c.flags(), args); err != nil {
		return err
	}
	var users admin.List[admin.User]
	raw, err := c.call("GET", "/admin/v1/users", nil, &users)
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "ID", "NAME", "STATUS", "BALANCE", "CREDIT_LIMIT", "CREATED", "LIMITS")
		for _, u := range users.Data {
			row(w, u.ID, u.Name, u.Status, u.Balance, u.CreditLimit, utc(u.CreatedAt), rateText(u.Limits))
		}
	})
}

func userCreate(c *cli, args []string) error {
	fs := c.flags()
	limit := fs.String("credit-limit", "", "how far below zero the balance may go, in USD")
	rf := addRateFlags(fs)
	pos, err := c.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	req := admin.CreateUserRequest{Name: pos[0]}
	set := given(fs)
	if set["credit-limit"] {
		req.CreditLimit = limit
	}
	if rf.given(set) {
		req.Limits = &admin.RateLimits{}
		if err := rf.apply(set, req.Limits); err != nil {
			return err
		}
	}
	return c.showUser(c.call("POST", "/admin/v1/users", req, nil))
}

func (c *cli) showUser(raw []byte, err error) error {
	var u admin.User
	if err == nil {
		err = json.Unmarshal(raw, &u)
	}
	if err != nil {
		return err
	}
	return c.show(raw, func(w io.Writer) {
		row(w, "id:", u.ID)
		row(w, "name:", u.Name)
		row(w, "status:", u.Status)
		row(w, "balance:", u.Balance+" USD")
		row(w, "credit limit:", u.CreditLimit+" USD")
		row(w, "limits:", rateText(u.Limits))
		row(w, "created:", utc(u.CreatedAt))
	})
}

func userShow(c *cli, args []string) error {
	path, _, err := c.userPath(c.flags(), args)
	if err != nil {
		return err
	}
	return c.showUser(c.call("GET", path, nil, nil))
}

func userAction(verb string) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		path, _, err := c.userPath(c.flags(), args)
		if err != nil {
			return err
		}
		return c.showUser(c.call("POST", path+"/"+verb, nil, nil))
	}
}

func userCreditLimit(c *cli, args []string) error {
	path, pos, err := c.userPath(c.flags(), args, "USD")
	if err != nil {
		return err
	}
	return c.showUser(c.call("PUT", path+"/credit-limit", admin.CreditLimitRequest{CreditLimit: &pos[1]}, nil))
}

// userLimits changes the rate limits named by flags and keeps the others.
func userLimits(c *cli, args []string) error {
	fs := c.flags()
	rf := addRateFlags(fs)
	path, _, err := c.userPath(fs, args)
	if err != nil {
		return err
	}
	set := given(fs)
	if !rf.given(set) {
		return errors.New("nothing to change: give --rpm, --tpm or --concurrent")
	}
	var u admin.User
	if _, err := c.call("GET", path, nil, &u); err != nil {
		return err
	}
	if err := rf.apply(set, &u.Limits); err != nil {
		return err
	}
	return c.showUser(c.call("PUT", path+"/limits", u.Limits, nil))
}

func userDelete(c *cli, args []string) error {
	path, pos, err := c.userPath(c.flags(), args)
	if err != nil {
		return err
	}
	if _, err := c.call("DELETE", path, nil, nil); err != nil {
		return err
	}
	return c.done("deleted user %s: its keys are revoked, its ledger is kept", pos[0])
}
