// Package ratelimit limits requests per minute (RPM), tokens per minute (TPM)
// and concurrent requests for each subject the relay names: a key, a user, a
// model, a channel. Memory keeps the counts in one process; Redis keeps them
// in Redis for several nodes, with the same semantics; Fallback uses Redis and
// falls back to Memory while Redis fails.
//
// # Admission
//
// A Ticket carries the rules of every subject a request touches and is
// admitted against all of them or none: Acquire either counts the request in
// each rule or returns a *Denied and counts it nowhere, so a request refused
// by its key's limit costs its user and model nothing. Denied names the limit
// that clears last, with the time to wait for it (RetryAfter).
//
// # The window
//
// Requests and tokens are counted in buckets of one second, in the bucket of
// the second the request was admitted, and count against a limit while that
// bucket is within the last 60 seconds: a request admitted at 12:00:00.7
// counts until 12:01:00.0. RetryAfter is the time until enough of the oldest
// buckets leave for the request to fit, at least one second. Headers report,
// for the x-ratelimit-* response headers, the rule with the least remaining of
// each kind, and as reset the time until its oldest counted bucket leaves,
// when remaining next grows.
//
// # Tokens
//
// The token count of a request is not known when it is admitted, so the
// ticket reserves an estimate against each TPM, and Release replaces the
// estimate by the actual usage in the bucket where it was reserved (if that is
// still in the window): an under-estimate leaves less room for later requests,
// an over-estimate gives room back. A ticket whose estimate exceeds a TPM
// outright could never be admitted; it is denied with Kind "tokens" and a zero
// RetryAfter rather than left to retry. The relay caps its estimate (by the
// request's max_tokens and the rules' TPM) so that this means what it says.
//
// # Concurrency
//
// A grant holds one slot of each concurrency limit until Release. Release is
// idempotent and safe at any time, also after the window moved on. Denied
// suggests retrying after a second, since nobody can know when a slot frees.
// In Redis a slot is a member of a sorted set scored by the end of its lease
// (RedisOptions.LeaseTTL, 35 minutes by default, longer than any request), so
// the slots of a node that died free themselves when their lease ends.
//
// # Redis
//
// One Lua script measures every rule and takes from all of them, or from
// none, atomically; a second one releases. Keys carry their scope as hash
// tag, but the script touches the keys of every rule of a ticket, so one
// Redis server (or one shard) is expected, not a cluster spreading scopes.
// Keys expire when idle: buckets 70 seconds after the last admission, slot
// sets with their last lease. By default the scripts read the Redis server's
// clock, so that nodes agree on the seconds whatever their own clocks say.
//
// # When Redis is down
//
// Admitting everything while the shared store is down would let a single key
// flood the upstreams at the moment the gateway is least healthy, and refusing
// everything would turn a Redis outage into a full one. Fallback does neither:
// it admits against a local Memory whose limits are the configured ones
// divided by the number of nodes (at least 1), so that the nodes together
// admit about the configured total. It logs each change of state once, reports
// it to a callback (for a metric or health check), and tries Redis again at
// most once a second. Counts made locally are not carried into Redis when it
// returns, so for up to a minute after an outage a subject may get up to
// twice its limit; slots held in Redis by requests admitted before the outage
// and released during it stay taken until their lease ends.
package ratelimit
