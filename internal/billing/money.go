// Package billing holds the pure money arithmetic of the gateway: amounts,
// prices and what a request costs. Amounts are integers; nothing here uses
// floating point.
package billing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Micros is an amount of US dollars in millionths (1 USD = 1,000,000 Micros).
// Balances, costs, limits and ledger entries are all Micros.
type Micros int64

// MicrosPerUSD is the number of Micros in one dollar.
const MicrosPerUSD = 1_000_000

// ErrAmount reports a malformed decimal amount.
var ErrAmount = errors.New("invalid amount")

// ParseUSD parses a decimal dollar amount such as "20", "-3.5" or "0.000125"
// exactly, without going through floating point. More than six decimal
// places cannot be represented and is an error rather than a silent rounding.
func ParseUSD(s string) (Micros, error) {
	v, err := parseFixed(s, 6)
	return Micros(v), err
}

// parseFixed parses a decimal string into an integer scaled by 10^scale.
func parseFixed(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrAmount)
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" || hasDot && frac == "" && whole == "" {
		return 0, fmt.Errorf("%w: %q", ErrAmount, s)
	}
	if len(frac) > scale {
		// Trailing zeros beyond the scale are harmless ("1.2500000").
		if strings.TrimRight(frac[scale:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrAmount, s, scale)
		}
		frac = frac[:scale]
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w: %q", ErrAmount, s)
			}
		}
	}
	frac += strings.Repeat("0", scale-len(frac))
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is out of range", ErrAmount, s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// String formats the amount as dollars with six decimals, e.g. "20.000000".
func (m Micros) String() string {
	v := int64(m)
	sign := ""
	if v < 0 {
		sign = "-"
		if v == math.MinInt64 {
			return "-9223372036854.775808"
		}
		v = -v
	}
	return fmt.Sprintf("%s%d.%06d", sign, v/MicrosPerUSD, v%MicrosPerUSD)
}

// USD formats the amount with trailing zeros trimmed, e.g. "20" or "0.0125".
func (m Micros) USD() string {
	s := m.String()
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
