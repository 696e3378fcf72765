package admin

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCodes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var made CreatedCodes
		e.call("POST", "/admin/v1/codes", `{"count":3,"amount":"5","batch":"spring","expires_at":"2031-01-01T00:00:00Z"}`,
			201, &made)
		if len(made.Codes) != 3 || made.Amount != "5" || made.Batch != "spring" || made.ExpiresAt == nil {
			t.Fatalf("created %+v", made)
		}
		e.call("POST", "/admin/v1/codes", `{"count":1,"amount":"1"}`, 201, nil)

		var u User
		e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 201, &u)
		if _, err := e.st.RedeemCode(t.Context(), u.ID, made.Codes[1]); err != nil {
			t.Fatal(err)
		}
		var list List[Code]
		e.call("GET", "/admin/v1/codes?batch=spring", "", 200, &list)
		if len(list.Data) != 3 {
			t.Fatalf("listed %d codes, want 3", len(list.Data))
		}
		redeemed := 0
		for _, c := range list.Data {
			if b, _ := json.Marshal(c); strings.Contains(string(b), made.Codes[0][8:]) {
				t.Errorf("the listing shows a code: %+v", c)
			}
			if c.RedeemedBy != nil {
				redeemed++
				if *c.RedeemedBy != u.ID || c.RedeemedAt == nil || c.Prefix != made.Codes[1][:7] {
					t.Errorf("redeemed code %+v", c)
				}
			}
		}
		if redeemed != 1 {
			t.Errorf("%d redeemed codes, want 1", redeemed)
		}
		e.call("GET", "/admin/v1/codes", "", 200, &list)
		if len(list.Data) != 4 {
			t.Errorf("listed %d codes in all, want 4", len(list.Data))
		}
		e.fails(t, []failCase{
			{"no count", "POST", "/admin/v1/codes", `{"amount":"1"}`, 400, "count"},
			{"too many", "POST", "/admin/v1/codes", `{"count":1001,"amount":"1"}`, 400, "count"},
			{"zero amount", "POST", "/admin/v1/codes", `{"count":1,"amount":"0"}`, 400, "amount"},
			{"past expiry", "POST", "/admin/v1/codes", `{"count":1,"amount":"1","expires_at":"2020-01-01T00:00:00Z"}`, 400, "expires_at"},
			{"bad filter", "GET", "/admin/v1/codes?user=1", "", 400, "unknown query parameter"},
		})
	})
}
