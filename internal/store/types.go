package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
)

// Errors the store returns; callers test them with errors.Is.
var (
	ErrNotFound          = errors.New("not found")
	ErrConflict          = errors.New("already exists")
	ErrInsufficientFunds = errors.New("insufficient balance")
	ErrKeySpendLimit     = errors.New("key spend limit reached")
	ErrUserInactive      = errors.New("user is not active")
	ErrInvalid           = errors.New("invalid value")
)

// User statuses.
const (
	UserActive    = "active"
	UserSuspended = "suspended"
)

// User is an account that owns keys and a prepaid balance.
type User struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Balance is the spendable amount: top-ups and adjustments minus
	// settled costs minus what in-flight requests hold.
	Balance billing.Micros `json:"balance"`
	// CreditLimit is how far below zero the balance may be reserved into
	// (0: not at all).
	CreditLimit billing.Micros `json:"credit_limit"`
	// Limits cap the requests of all the user's keys together.
	Limits    Limits    `json:"limits"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits are rate limits: requests per minute, tokens per minute and
// requests in flight at once. 0 means unlimited, except that a key's or a
// user's 0 takes the configured default, if there is one.
type Limits struct {
	RPM        int64 `json:"rpm,omitempty"`
	TPM        int64 `json:"tpm,omitempty"`
	Concurrent int64 `json:"concurrent,omitempty"`
}

// Or returns l with each limit that is 0 taken from def: a subject's own
// limit wins over the default.
func (l Limits) Or(def Limits) Limits {
	if l.RPM == 0 {
		l.RPM = def.RPM
	}
	if l.TPM == 0 {
		l.TPM = def.TPM
	}
	if l.Concurrent == 0 {
		l.Concurrent = def.Concurrent
	}
	return l
}

// check refuses negative limits.
func (l Limits) check() error {
	if l.RPM < 0 || l.TPM < 0 || l.Concurrent < 0 {
		return fmt.Errorf("%w: rate limits cannot be negative (rpm %d, tpm %d, concurrent %d)",
			ErrInvalid, l.RPM, l.TPM, l.Concurrent)
	}
	return nil
}

// Key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
)

// Key is a client API key. The key itself is never stored; Hash is its
// SHA-256 digest and Prefix its displayable start.
type Key struct {
	ID      int64          `json:"id"`
	UserID  int64          `json:"user_id"`
	Name    string         `json:"name"`
	Prefix  string         `json:"prefix"`
	Hash    apikey.Digest  `json:"-"`
	Status  string         `json:"status"`
	Limits  KeyLimits      `json:"limits"`
	Spent   billing.Micros `json:"spent"` // settled costs plus in-flight holds
	Created time.Time      `json:"created_at"`
}

// KeyLimits are the restrictions a key may carry. Zero values mean "none".
type KeyLimits struct {
	ExpiresAt     *time.Time     `json:"expires_at,omitempty"`
	SpendLimit    billing.Micros `json:"spend_limit,omitempty"`
	AllowedModels []string       `json:"allowed_models,omitempty"`
	AllowedIPs    []string       `json:"allowed_ips,omitempty"` // IPs or CIDRs
	Rate          Limits         `json:"rate,omitzero"`
}

// Channel is an upstream provider account: where to send requests for some
// models, and with which credentials.
type Channel struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"` // openai | openai-responses | anthropic | gemini | ark | openai-compatible
	BaseURL  string            `json:"base_url"`
	Keys     []string          `json:"-"` // plaintext in memory, sealed at rest
	Models   []string          `json:"models"`
	ModelMap map[string]string `json:"model_map,omitempty"`
	Priority int               `json:"priority"`
	Weight   int               `json:"weight"`
	Enabled  bool              `json:"enabled"`
	// Limits cap what the gateway sends this upstream account, whoever asks.
	Limits  Limits    `json:"limits"`
	Updated time.Time `json:"updated_at"`
}

// Model statuses.
const (
	ModelAvailable    = "available"
	ModelExperimental = "experimental"
	ModelDeprecated   = "deprecated"
	ModelOffline      = "offline"
)

// Model is an entry of the public catalogue with its price.
type Model struct {
	Name   string        `json:"name"`
	Status string        `json:"status"`
	Price  billing.Price `json:"price"`
	// MaxOutputTokens bounds the reservation of a request that does not set
	// its own max_tokens (0: the gateway default).
	MaxOutputTokens int64 `json:"max_output_tokens,omitempty"`
	// Limits cap all requests for the model together, whoever sends them.
	Limits  Limits    `json:"limits"`
	Updated time.Time `json:"updated_at"`
}

// Ledger entry kinds.
const (
	EntryTopUp   = "topup"
	EntryAdjust  = "adjust"
	EntryReserve = "reserve"
	EntrySettle  = "settle"
	EntryRefund  = "refund"
)

// Entry is one line of a user's append-only ledger. The sum of a user's
// entries always equals their balance.
type Entry struct {
	ID           int64          `json:"id"`
	UserID       int64          `json:"user_id"`
	Kind         string         `json:"kind"`
	Amount       billing.Micros `json:"amount"`
	BalanceAfter billing.Micros `json:"balance_after"`
	// Ref ties the entry to what caused it: a request id for reserve,
	// settle and refund; an idempotency key for top-ups and adjustments.
	Ref     string    `json:"ref"`
	Note    string    `json:"note,omitempty"`
	Created time.Time `json:"created_at"`
}

// Hold is the money an in-flight request has reserved.
type Hold struct {
	RequestID string
	UserID    int64
	KeyID     int64
	Amount    billing.Micros
}

// RequestLog is the one metadata row a request leaves. It never holds
// prompt or output content.
type RequestLog struct {
	ID         int64          `json:"id"`
	Time       time.Time      `json:"time"`
	RequestID  string         `json:"request_id"`
	UserID     int64          `json:"user_id"`
	KeyID      int64          `json:"key_id"`
	KeyPrefix  string         `json:"key_prefix"`
	Model      string         `json:"model"`
	ChannelID  int64          `json:"channel_id"`
	ClientIP   string         `json:"client_ip"`
	Stream     bool           `json:"stream"`
	Usage      llm.Usage      `json:"usage"`
	Source     llm.Source     `json:"usage_source"`
	Cost       billing.Micros `json:"cost"`
	LatencyMS  float64        `json:"latency_ms"`
	TTFTMS     float64        `json:"ttft_ms"`
	Status     int            `json:"status"`
	ErrorClass string         `json:"error_class,omitempty"`
}

// LogFilter selects request log rows, newest first.
type LogFilter struct {
	UserID   int64     // 0: all users
	Model    string    // "": all models
	Status   int       // 0: any status; else this HTTP status
	Since    time.Time // zero: no lower bound
	BeforeID int64     // 0: from the newest; else rows with ID < BeforeID
	Limit    int       // 0: 100; capped at 1000
}

// Task statuses. Queued and in progress are the upstream's; completed and
// failed are final.
const (
	TaskQueued     = "queued"
	TaskInProgress = "in_progress"
	TaskCompleted  = "completed"
	TaskFailed     = "failed"
)

// Task is an asynchronous generation (a video) that the gateway polls the
// upstream for until it ends, then settles. ID is the public task id and the
// request id of its hold. It never holds the prompt or the output: only
// metadata and where the upstream put the result.
type Task struct {
	ID         string `json:"id"`
	UserID     int64  `json:"user_id"`
	KeyID      int64  `json:"key_id"`
	Model      string `json:"model"`
	ChannelID  int64  `json:"channel_id"`
	Kind       string `json:"kind"` // the upstream's task API: sora | seedance
	UpstreamID string `json:"upstream_id"`
	Status     string `json:"status"`
	Progress   int    `json:"progress"` // 0..100
	// Held is what the task's hold reserved; Cost what it was charged.
	Held         billing.Micros `json:"held"`
	Cost         billing.Micros `json:"cost"`
	Seconds      int64          `json:"seconds"`
	Resolution   string         `json:"resolution,omitempty"`
	Size         string         `json:"size,omitempty"`
	ErrorCode    string         `json:"error_code,omitempty"`
	ErrorMessage string         `json:"error_message,omitempty"`
	ResultURL    string         `json:"result_url,omitempty"`
	UsageTokens  int64          `json:"usage_tokens,omitempty"`
	// LeaseOwner polls the task until LeaseUntil; "" and nil: nobody.
	LeaseOwner string     `json:"-"`
	LeaseUntil *time.Time `json:"-"`
	NextPollAt time.Time  `json:"next_poll_at"`
	Polls      int        `json:"polls"`
	// Settled is set once, when the hold has been settled or refunded.
	Settled     bool       `json:"settled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Final reports whether the task has ended, completed or failed.
func (t Task) Final() bool { return t.Status == TaskCompleted || t.Status == TaskFailed }
