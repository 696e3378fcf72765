package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis limiter; zero values take the defaults.
type RedisOptions struct {
	Prefix string // of every key; default "tokenhot:rl:"
	// LeaseTTL is how long a concurrency slot outlives a node that took it and
	// died before releasing it; it must exceed the longest request. Default 35m.
	LeaseTTL time.Duration
	// Now is the clock. When nil the Redis server's clock is read inside the
	// script, so that every node counts in the same seconds.
	Now func() time.Time
	// Log receives the releases that failed; default slog.Default().
	Log *slog.Logger
}

// Redis is a Limiter shared by every node using the same Redis and Prefix.
//
// A scope keeps three keys, all carrying the scope as hash tag:
// <prefix>{<scope>}:r and :t, hashes from Unix second to the requests and
// tokens counted in it, which expire 70s after their last admission; and :c,
// a sorted set of the ticket ids holding a concurrency slot, scored by the
// Unix millisecond their lease ends. One script checks and takes from all the
// rules of a ticket, so all of its keys must live on one Redis: a single
// server (with replicas) or one shard is expected. On a cluster, rules whose
// scopes hash to different slots fail with CROSSSLOT.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	lease  time.Duration
	now    func() time.Time
	log    *slog.Logger
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Limiter keeping its counts in c.
func NewRedis(c redis.UniversalClient, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "tokenhot:rl:"
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 35 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Redis{c: c, prefix: o.Prefix, lease: o.LeaseTTL, now: o.Now, log: o.Log}
}

// The scripts take the time as ARGV[1] in Unix milliseconds, or read the
// server's clock when it is negative.
const luaClock = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local sec = math.floor(now / 1000)
`

// acquireScript: KEYS are three per rule (requests, tokens, slots); ARGV are
// now, tokens, ticket id, lease ms, bucket ttl ms, then rpm, tpm, concurrent
// per rule. It returns admitted (0 or 1), now, then per rule the seven
// numbers of a usage, durations in milliseconds.
var acquireScript = redis.NewScript(luaClock + `
local tokens = tonumber(ARGV[2])
local id = ARGV[3]
local lease = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])

-- measure drops the buckets that left the window and returns the total, the
-- ms until the oldest bucket leaves, and the ms until need more fit under
-- limit (0 if they fit now, -1 if they never can).
local function measure(key, need, limit)
  local flat = redis.call('HGETALL', key)
  local secs, counts, gone, total = {}, {}, {}, 0
  for j = 1, #flat, 2 do
    local s = tonumber(flat[j])
    if s <= sec - 60 then
      gone[#gone + 1] = flat[j]
    else
      secs[#secs + 1] = s
      counts[s] = tonumber(flat[j + 1])
      total = total + counts[s]
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  table.sort(secs)
  local reset = ((secs[1] or sec) + 60) * 1000 - now
  local excess = total + need - limit
  if excess <= 0 then return total, reset, 0 end
  for _, s in ipairs(secs) do
    excess = excess - counts[s]
    if excess <= 0 then return total, reset, (s + 60) * 1000 - now end
  end
  return total, reset, -1
end

local out = {1, now}
local n = #KEYS / 3
for i = 1, n do
  local rpm, tpm, conc = tonumber(ARGV[3 * i + 3]), tonumber(ARGV[3 * i + 4]), tonumber(ARGV[3 * i + 5])
  local r, rr, rw, t, tr, tw, c = 0, 0, 0, 0, 0, 0, 0
  if rpm > 0 then r, rr, rw = measure(KEYS[3 * i - 2], 1, rpm) end
  if tpm > 0 then t, tr, tw = measure(KEYS[3 * i - 1], tokens, tpm) end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3 * i], '-inf', now)
    c = redis.call('ZCARD', KEYS[3 * i])
    if c >= conc then out[1] = 0 end
  end
  if rw ~= 0 or tw ~= 0 then out[1] = 0 end
  local base = #out
  out[base + 1], out[base + 2], out[base + 3], out[base + 4] = r, rr, rw, t
  out[base + 5], out[base + 6], out[base + 7] = tr, tw, c
end
if out[1] == 0 then return out end

for i = 1, n do
  local rpm, tpm, conc = tonumber(ARGV[3 * i + 3]), tonumber(ARGV[3 * i + 4]), tonumber(ARGV[3 * i + 5])
  if rpm > 0 then
    redis.call('HINCRBY', KEYS[3 * i - 2], sec, 1)
    redis.call('PEXPIRE', KEYS[3 * i - 2], ttl)
  end
  if tpm > 0 then
    redis.call('HINCRBY', KEYS[3 * i - 1], sec, tokens)
    redis.call('PEXPIRE', KEYS[3 * i - 1], ttl)
  end
  if conc > 0 then
    redis.call('ZADD', KEYS[3 * i], now + lease, id)
    redis.call('PEXPIRE', KEYS[3 * i], lease)
  end
end
return out
`)

// releaseScript: KEYS are the token windows to correct (ARGV[5] of them),
// then the slot sets to leave; ARGV are now, the reservation's second, the
// token delta, the ticket id and the number of token windows.
var releaseScript = redis.NewScript(luaClock + `
local at, delta, id, nt = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
for i = 1, #KEYS do
  if i > nt then
    redis.call('ZREM', KEYS[i], id)
  elseif tonumber(at) > sec - 60 and redis.call('HEXISTS', KEYS[i], at) == 1 then
    redis.call('HINCRBY', KEYS[i], at, delta)
  end
end
return 0
`)

const usageFields = 7 // numbers per rule in acquireScript's answer

// Acquire admits t against all of its rules or none, in one script run.
func (l *Redis) Acquire(ctx context.Context, t Ticket) (*Grant, error) {
	rules, err := limiting(t)
	if err != nil {
		return nil, err
	}
	tokens := max(t.Tokens, 0)
	if len(rules) == 0 {
		return &Grant{owner: l, id: t.ID}, nil
	}
	keys := make([]string, 0, 3*len(rules))
	args := make([]any, 0, 5+3*len(rules))
	args = append(args, l.clock(), tokens, t.ID, l.lease.Milliseconds(), bucketTTL.Milliseconds())
	for _, r := range rules {
		k := l.key(r.Scope)
		keys = append(keys, k+"r", k+"t", k+"c")
		args = append(args, r.RPM, r.TPM, r.Concurrent)
	}
	out, err := acquireScript.Run(ctx, l.c, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(out) != 2+usageFields*len(rules) {
		return nil, fmt.Errorf("ratelimit: redis: script answered %d numbers for %d rules", len(out), len(rules))
	}
	us := make([]usage, len(rules))
	for i := range us {
		v := out[2+usageFields*i:]
		us[i] = usage{
			requests: v[0], requestsReset: millis(v[1]), requestsWait: millis(v[2]),
			tokens: v[3], tokensReset: millis(v[4]), tokensWait: millis(v[5]),
			concurrent: v[6],
		}
	}
	if out[0] == 0 {
		if d := decide(rules, tokens, us); d != nil {
			return nil, d
		}
		return nil, fmt.Errorf("ratelimit: redis: script refused a ticket that fits every rule")
	}
	return &Grant{owner: l, id: t.ID, rules: rules, tokens: tokens, sec: out[1] / 1000, headers: headersFor(rules, us, tokens, true)}, nil
}

// Release leaves g's concurrency slots and corrects its token estimate in the
// bucket it was reserved in, if that is still in the window. If Redis cannot
// be reached, or ctx ends first, the failure is logged: the slots then stay
// taken until their lease ends, and the estimate stands until it leaves the
// window. So ctx should outlive the client's request, as settlement's does.
func (l *Redis) Release(ctx context.Context, g *Grant, actualTokens int64) {
	if !g.releasedBy(l) {
		return
	}
	delta := max(actualTokens, 0) - g.tokens
	var keys []string
	if delta != 0 {
		for _, r := range g.rules {
			if r.TPM > 0 {
				keys = append(keys, l.key(r.Scope)+"t")
			}
		}
	}
	nt := len(keys)
	for _, r := range g.rules {
		if r.Concurrent > 0 {
			keys = append(keys, l.key(r.Scope)+"c")
		}
	}
	if len(keys) == 0 {
		return
	}
	err := releaseScript.Run(ctx, l.c, keys, l.clock(), g.sec, delta, g.id, nt).Err()
	if err != nil {
		l.log.WarnContext(ctx, "ratelimit: release failed; its slots stay taken until their lease ends",
			"ticket", g.id, "lease", l.lease, "err", err)
	}
}

func (l *Redis) key(scope string) string { return l.prefix + "{" + scope + "}:" }

// clock is the time to hand the scripts: Unix milliseconds, or -1 for the
// server's clock.
func (l *Redis) clock() int64 {
	if l.now == nil {
		return -1
	}
	return l.now().UnixMilli()
}

func millis(ms int64) time.Duration {
	if ms < 0 {
		return never
	}
	return time.Duration(ms) * time.Millisecond
}
