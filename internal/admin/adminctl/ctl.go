// Package adminctl is the command line of the admin API: "tokenhot user
// create alice", "tokenhot topup alice 20" and the like, run against a
// server over HTTP with admin.Client. It prints aligned tables, or the
// server's JSON with --json.
package adminctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenhot/tokenhot/internal/admin"
	"github.com/tokenhot/tokenhot/internal/billing"
)

// Usage lists the commands.
const Usage = `Administration of a running Tokenhot server (docs/ADMIN.md has the details).

  tokenhot user list
  tokenhot user create NAME [--credit-limit USD] [RATE LIMITS]
  tokenhot user show|suspend|reactivate|delete USER
  tokenhot user credit-limit USER USD
  tokenhot user role USER user|admin
  tokenhot user limits USER RATE LIMITS
  tokenhot key create USER [--name N] [--expires RFC3339|DURATION] [--spend-limit USD] [--models a,b] [--ips IP,CIDR]
                      [RATE LIMITS]
  tokenhot key list [--user USER] [--prefix P]
  tokenhot key show|revoke ID
  tokenhot key limits ID [--expires T|none] [--spend-limit USD|none] [--models a,b|none] [--ips IP,CIDR|none]
                      [RATE LIMITS]
  tokenhot channel list
  tokenhot channel add --name N --type T --base-url URL --key K... --model M... [--map public=upstream...]
                       [--priority N] [--weight N] [--disabled] [RATE LIMITS]
  tokenhot channel edit ID [any flag of add]
  tokenhot channel show|enable|disable|delete ID
  tokenhot model list
  tokenhot model set NAME --input USD --output USD [--cached-input USD] [--cache-write USD] [--reasoning USD]
                     [--per-request USD] [--per-image USD] [--image-prices JSON] [--per-second USD]
                     [--second-prices JSON] [--status S] [--max-output-tokens N] [RATE LIMITS]
  tokenhot model show|delete NAME
  tokenhot topup USER AMOUNT [--note TEXT] [--idempotency-key K]
  tokenhot adjust USER AMOUNT --reason TEXT [--idempotency-key K]
  tokenhot ledger USER [--limit N] [--before ID]
  tokenhot logs [--user USER] [--model M] [--since RFC3339|DURATION] [--limit N] [--before ID]

USER is a user name or id; prices are USD per 1M tokens. RATE LIMITS are
[--rpm N] [--tpm N] [--concurrent N]: requests and tokens per minute, requests
in flight; "none" or 0 is unlimited, and where limits are edited (user limits,
key limits, channel edit) the ones not given are kept. Every command also
takes --server URL (default $TOKENHOT_URL, else http://127.0.0.1:3000),
--token T (default $TOKENHOT_ADMIN_TOKEN, else the file data/admin-token) and
--json (print the server's JSON answer). Flags may come before or after the
arguments; "--" ends them.
`

// commands maps "resource verb", or a lone verb, to its handler.
var commands = map[string]func(c *cli, args []string) error{
	"user list":         userList,
	"user create":       userCreate,
	"user show":         userShow,
	"user suspend":      userAction("suspend"),
	"user reactivate":   userAction("reactivate"),
	"user delete":       userDelete,
	"user credit-limit": userCreditLimit,
	"user limits":       userLimits,
	"user role":         userRole,
	"key create":        keyCreate,
	"key list":          keyList,
	"key show":          keyAction(""),
	"key revoke":        keyAction("revoke"),
	"key limits":        keyLimits,
	"channel list":      channelList,
	"channel add":       channelSave(false),
	"channel edit":      channelSave(true),
	"channel show":      channelAction("GET", ""),
	"channel enable":    channelAction("POST", "/enable"),
	"channel disable":   channelAction("POST", "/disable"),
	"channel delete":    channelDelete,
	"model list":        modelList,
	"model set":         modelSet,
	"model show":        modelShow,
	"model delete":      modelDelete,
	"topup":             credit("topup"),
	"adjust":            credit("adjust"),
	"ledger":            ledger,
	"logs":              logs,
}

// ErrUsage reports a command line that could not be understood; the usage
// has been printed to stderr.
var ErrUsage = errors.New("usage")

// Run runs one administration command against a running server. args start
// at the resource word, e.g. ["user", "create", "alice"]. getenv supplies
// TOKENHOT_URL and TOKENHOT_ADMIN_TOKEN.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name string
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if _, lone := commands[name]; !lone && len(args) > 0 {
		name, args = name+" "+args[0], args[1:]
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "unknown command \"tokenhot %s\"\n\n%s", name, Usage)
		return ErrUsage
	}
	c := &cli{ctx: ctx, name: name, getenv: getenv, stdout: stdout, stderr: stderr, now: time.Now}
	return run(c, args)
}

type cli struct {
	ctx            context.Context
	name           string
	getenv         func(string) string
	stdout, stderr io.Writer
	now            func() time.Time

	server, token string // flags
	json          bool
	client        *admin.Client
}

// flags returns the command's flag set, holding the flags all commands take.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("tokenhot "+c.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.server, "server", "", "server URL (default $TOKENHOT_URL, else http://127.0.0.1:3000)")
	fs.StringVar(&c.token, "token", "", "admin token (default $TOKENHOT_ADMIN_TOKEN, else the file data/admin-token)")
	fs.BoolVar(&c.json, "json", false, "print the server's JSON answer")
	return fs
}

// parse reads flags placed anywhere among the arguments, which must be as
// many as names. "--" ends the flags; a negative number such as "-5" is an
// argument, not a flag.
func (c *cli) parse(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case !strings.HasPrefix(a, "-") || a == "-" || isAmount(a):
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	usage := strings.Join(append([]string{"tokenhot " + c.name}, names...), " ")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: %s [flags]\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(flags); err != nil {
		return nil, ErrUsage // the flag package has said why
	}
	if len(pos) != len(names) {
		fs.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}

func isAmount(s string) bool {
	_, err := billing.ParseUSD(s)
	return err == nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// given reports which flags the command line set.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// call sends one request to the admin API; see admin.Client.Do.
func (c *cli) call(method, path string, body, out any) ([]byte, error) {
	if c.client == nil {
		server := strings.TrimRight(firstSet(c.server, c.getenv("TOKENHOT_URL"), "http://127.0.0.1:3000"), "/")
		if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server URL %q is not http(s)://host[:port]", server)
		}
		token := firstSet(c.token, c.getenv("TOKENHOT_ADMIN_TOKEN"))
		if token == "" {
			b, _ := os.ReadFile("data/admin-token")
			token = strings.TrimSpace(string(b))
		}
		if token == "" {
			return nil, errors.New("no admin token: pass --token, set TOKENHOT_ADMIN_TOKEN, " +
				"or run where data/admin-token is (the server writes it at first start)")
		}
		c.client = &admin.Client{URL: server, Token: token, HTTP: &http.Client{Timeout: time.Minute}}
	}
	raw, err := c.client.Do(c.ctx, method, path, body, out)
	var (
		apiErr *admin.Error
		netErr *url.Error
	)
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w; check --token, TOKENHOT_ADMIN_TOKEN or data/admin-token", err)
	case errors.As(err, &netErr):
		return nil, fmt.Errorf("cannot reach the Tokenhot server at %s (is it running? see --server and TOKENHOT_URL): %w",
			c.client.URL, netErr.Err)
	}
	return raw, err
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// show prints the raw answer with --json, or else the table.
func (c *cli) show(raw []byte, table func(w io.Writer)) error {
	if c.json {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// done confirms a command that has nothing to show.
func (c *cli) done(format string, args ...any) error {
	if c.json {
		_, err := fmt.Fprintln(c.stdout, "{}")
		return err
	}
	_, err := fmt.Fprintf(c.stdout, format+"\n", args...)
	return err
}

// row writes one table line; empty cells read "-".
func row(w io.Writer, cols ...any) {
	for i, col := range cols {
		if s, ok := col.(string); ok && s == "" {
			col = "-"
		}
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		fmt.Fprint(w, col)
	}
	fmt.Fprintln(w)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func id64(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an id (a positive integer)", s)
	}
	return id, nil
}

// splitList reads "a,b" ("" and "none" are the empty list).
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" && v != "none" {
			out = append(out, v)
		}
	}
	return out
}

// listFlag is a flag that may be repeated; splitComma also splits each value
// at commas.
type listFlag struct {
	vals       []string
	splitComma bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }
func (l *listFlag) Set(s string) error {
	if l.splitComma {
		l.vals = append(l.vals, splitList(s)...)
	} else if s = strings.TrimSpace(s); s != "" {
		l.vals = append(l.vals, s)
	}
	return nil
}

// parseWhen reads an RFC 3339 time, or a duration such as "720h" or "30d"
// counted from now forward (dir 1) or back (dir -1).
func parseWhen(s string, now time.Time, dir int) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, dir*n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(time.Duration(dir) * d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2030-01-02T15:04:05Z) nor a duration (720h, 30d)", s)
}
