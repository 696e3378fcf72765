package adminctl

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenhot/tokenhot/internal/admin"
)

// rateFlags are --rpm, --tpm and --concurrent.
type rateFlags struct{ rpm, tpm, concurrent *string }

func addRateFlags(fs *flag.FlagSet) rateFlags {
	return rateFlags{
		rpm:        fs.String("rpm", "", "requests per minute (none or 0: unlimited)"),
		tpm:        fs.String("tpm", "", "tokens per minute (none or 0: unlimited)"),
		concurrent: fs.String("concurrent", "", "requests in flight at once (none or 0: unlimited)"),
	}
}

// given reports whether any of the flags was set.
func (rateFlags) given(set map[string]bool) bool {
	return set["rpm"] || set["tpm"] || set["concurrent"]
}

// apply sets the limits whose flags were given; "none" is 0, which is
// unlimited.
func (f rateFlags) apply(set map[string]bool, l *admin.RateLimits) error {
	for _, x := range []struct {
		name string
		in   *string
		out  **int64
	}{{"rpm", f.rpm, &l.RPM}, {"tpm", f.tpm, &l.TPM}, {"concurrent", f.concurrent, &l.Concurrent}} {
		if !set[x.name] {
			continue
		}
		var v int64
		if s := strings.TrimSpace(*x.in); s != "none" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("--%s %q: want a whole number (0 or none: unlimited)", x.name, *x.in)
			}
			v = n
		}
		*x.out = &v
	}
	return nil
}

// rateParts describes the limits that are set, e.g. ["rpm<=60", "tpm<=100000"].
func rateParts(l admin.RateLimits) []string {
	var parts []string
	for _, x := range []struct {
		name string
		v    *int64
	}{{"rpm", l.RPM}, {"tpm", l.TPM}, {"concurrent", l.Concurrent}} {
		if x.v != nil && *x.v != 0 {
			parts = append(parts, x.name+"<="+strconv.FormatInt(*x.v, 10))
		}
	}
	return parts
}

func rateText(l admin.RateLimits) string { return strings.Join(rateParts(l), "; ") }
