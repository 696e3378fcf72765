package adminctl

import (
	"github.com/tokenhot/tokenhot/internal/admin"
)

// userRole makes a user a console admin ("admin") or a plain user ("user").
func userRole(c *cli, args []string) error {
	path, pos, err := c.userPath(c.flags(), args, "ROLE")
	if err != nil {
		return err
	}
	var out admin.RoleAnswer
	if _, err := c.call("PUT", path+"/role", admin.RoleRequest{Role: pos[1]}, &out); err != nil {
		return err
	}
	return c.done("user %s is now role %s", pos[0], out.Role)
}
