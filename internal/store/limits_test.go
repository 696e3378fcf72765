package store

import "testing"

func TestLimitsOr(t *testing.T) {
	def := Limits{RPM: 60, TPM: 100_000, Concurrent: 4}
	for _, tc := range []struct {
		name     string
		own, def Limits
		want     Limits
	}{
		{name: "none of its own", def: def, want: def},
		{name: "own wins field by field", own: Limits{RPM: 5}, def: def, want: Limits{RPM: 5, TPM: 100_000, Concurrent: 4}},
		{name: "all its own", own: Limits{RPM: 1, TPM: 2, Concurrent: 3}, def: def, want: Limits{RPM: 1, TPM: 2, Concurrent: 3}},
		{name: "no default", own: Limits{TPM: 9}, want: Limits{TPM: 9}},
		{name: "neither", want: Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) { diff(t, tc.want, tc.own.Or(tc.def)) })
	}
}
