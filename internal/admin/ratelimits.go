package admin

import "github.com/tokenhot/tokenhot/internal/store"

// RateLimits are requests per minute, tokens per minute and requests in
// flight at once. Users, models and channels show them as "limits"; a key
// shows them among its other limits. In an answer, an absent limit is
// unlimited (for keys and users: the config file's default, if it sets one).
// In a body that replaces them all (a key's or a user's limits, a model),
// absent and 0 mean unlimited; in a PATCH of a channel, absent leaves the
// limit as it is and 0 removes it.
type RateLimits struct {
	RPM        *int64 `json:"rpm,omitempty"`
	TPM        *int64 `json:"tpm,omitempty"`
	Concurrent *int64 `json:"concurrent,omitempty"`
}

func viewRate(l store.Limits) RateLimits {
	opt := func(v int64) *int64 {
		if v == 0 {
			return nil
		}
		return &v
	}
	return RateLimits{RPM: opt(l.RPM), TPM: opt(l.TPM), Concurrent: opt(l.Concurrent)}
}

// merge returns base with the limits present in v changed.
func (v RateLimits) merge(base store.Limits) store.Limits {
	for _, f := range []struct{ in, out *int64 }{
		{v.RPM, &base.RPM}, {v.TPM, &base.TPM}, {v.Concurrent, &base.Concurrent},
	} {
		if f.in != nil {
			*f.out = *f.in
		}
	}
	return base
}

// checkRate refuses negative limits. field prefixes the names in the
// message ("limits", or "" for a key's limits, which sit among the others).
func checkRate(field string, l store.Limits) error {
	if field != "" {
		field += "."
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", l.RPM}, {"tpm", l.TPM}, {"concurrent", l.Concurrent}} {
		if f.v < 0 {
			return invalid("%s%s cannot be negative (0 or absent: unlimited)", field, f.name)
		}
	}
	return nil
}

// rate reads limits that replace all the old ones: what v leaves out is
// unlimited.
func rate(field string, v RateLimits) (store.Limits, error) {
	l := v.merge(store.Limits{})
	return l, checkRate(field, l)
}
