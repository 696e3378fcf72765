package main

import (
	"context"
	"testing"

	"github.com/tokenhot/tokenhot/internal/store"
)

func TestAdminCLIUserRole(t *testing.T) {
	url, g := adminServer(t)
	r := adminRunner{t, map[string]string{"TOKENHOT_URL": url, "TOKENHOT_ADMIN_TOKEN": adminToken}}
	r.ok("user", "create", "carol")
	contains(t, "user role", r.ok("user", "role", "carol", "admin"), "user carol is now role admin")
	u, err := g.Store.GetUserByName(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if role, err := g.Store.UserRole(context.Background(), u.ID); err != nil || role != store.RoleAdmin {
		t.Fatalf("role %q %v", role, err)
	}
	audit, err := g.Store.ListAudit(context.Background(), 0, 10)
	if err != nil || len(audit) != 1 || audit[0].Action != "user.role" {
		t.Fatalf("audit %+v %v", audit, err)
	}
	r.ok("user", "role", "carol", "user")
	if role, _ := g.Store.UserRole(context.Background(), u.ID); role != store.RoleUser {
		t.Fatalf("role %q after demotion", role)
	}
}
