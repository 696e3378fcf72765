package store

import (
	"context"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestRolesAndAudit(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "op")
		role, err := s.UserRole(ctx, u.ID)
		checkErr(t, err, nil)
		diff(t, RoleUser, role)
		checkErr(t, s.SetUserRole(ctx, u.ID, RoleAdmin), nil)
		role, _ = s.UserRole(ctx, u.ID)
		diff(t, RoleAdmin, role)
		checkErr(t, s.SetUserRole(ctx, u.ID, "root"), ErrInvalid)
		checkErr(t, s.SetUserRole(ctx, 999, RoleAdmin), ErrNotFound)

		checkErr(t, s.AddAudit(ctx, AuditEntry{ActorUserID: u.ID, Action: "user.suspend", Target: "user 2"}), nil)
		checkErr(t, s.AddAudit(ctx, AuditEntry{Action: "user.role", Target: "user 1", Detail: "admin"}), nil)
		checkErr(t, s.AddAudit(ctx, AuditEntry{}), ErrInvalid)
		got, err := s.ListAudit(ctx, 0, 0)
		checkErr(t, err, nil)
		if len(got) != 2 || got[0].Action != "user.role" || got[1].ActorUserID != u.ID || !got[0].At.Equal(t0) {
			t.Fatalf("audit: %+v", got)
		}
		older, err := s.ListAudit(ctx, got[0].ID, 10)
		checkErr(t, err, nil)
		if len(older) != 1 || older[0].ID != got[1].ID {
			t.Fatalf("audit page: %+v", older)
		}
	})
}

func TestAdminStats(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		rows := []RequestLog{
			{Time: day.Add(time.Hour), RequestID: "a", UserID: 1, Model: "m1", Usage: llm.Usage{Input: 10, Output: 5}, Cost: 100, Status: 200, LatencyMS: 10},
			{Time: day.Add(2 * time.Hour), RequestID: "b", UserID: 2, Model: "m2", Usage: llm.Usage{Input: 1}, Cost: 0, Status: 502, LatencyMS: 30},
			{Time: day.Add(25 * time.Hour), RequestID: "c", UserID: 2, Model: "m2", Usage: llm.Usage{Input: 1, Output: 1}, Cost: 300, Status: 200},
			{Time: day.Add(-time.Hour), RequestID: "old", UserID: 3, Model: "m3", Cost: 999, Status: 200},
		}
		checkErr(t, s.InsertRequestLogs(ctx, rows), nil)
		days, err := s.DailyStats(ctx, day)
		checkErr(t, err, nil)
		diff(t, []DayStats{
			{Day: day, Requests: 2, Errors: 1, Tokens: 16, Revenue: 100, LatencyMS: 20},
			{Day: day.AddDate(0, 0, 1), Requests: 1, Tokens: 2, Revenue: 300},
		}, days)
		models, err := s.TopModels(ctx, day, 5)
		checkErr(t, err, nil)
		diff(t, []TopStats{{Model: "m2", Requests: 2, Tokens: 3, Revenue: 300}, {Model: "m1", Requests: 1, Tokens: 15, Revenue: 100}}, models)
		users, err := s.TopUsers(ctx, day, 1)
		checkErr(t, err, nil)
		diff(t, []TopStats{{UserID: 2, Requests: 2, Tokens: 3, Revenue: 300}}, users)
		errs, err := s.RequestLogs(ctx, LogFilter{Status: 502})
		checkErr(t, err, nil)
		if len(errs) != 1 || errs[0].RequestID != "b" {
			t.Fatalf("status filter: %+v", errs)
		}
	})
}
