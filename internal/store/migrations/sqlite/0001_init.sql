-- Tokenhot schema, SQLite dialect. Money is INTEGER micro-USD; times are
-- INTEGER unix microseconds (UTC). STRICT tables reject a value of the wrong
-- type instead of storing it silently.

-- AUTOINCREMENT on tables whose ids appear in request logs, so that an id is
-- never handed out twice even after the newest row is deleted.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    balance      INTEGER NOT NULL DEFAULT 0,
    credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    name           TEXT    NOT NULL,
    prefix         TEXT    NOT NULL,
    hash           BLOB    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    spend_limit    INTEGER NOT NULL DEFAULT 0 CHECK (spend_limit >= 0),
    spent          INTEGER NOT NULL DEFAULT 0,
    expires_at     INTEGER,
    allowed_models TEXT    NOT NULL DEFAULT '[]',
    allowed_ips    TEXT    NOT NULL DEFAULT '[]',
    created_at     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    base_url    TEXT    NOT NULL,
    keys_sealed TEXT    NOT NULL, -- secret.Box sealed JSON array; never plaintext
    models      TEXT    NOT NULL, -- JSON array
    model_map   TEXT    NOT NULL, -- JSON object
    priority    INTEGER NOT NULL,
    weight      INTEGER NOT NULL,
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE models (
    name              TEXT    PRIMARY KEY,
    status            TEXT    NOT NULL,
    input_rate        INTEGER NOT NULL,
    output_rate       INTEGER NOT NULL,
    cached_input_rate INTEGER NOT NULL,
    cache_write_rate  INTEGER NOT NULL,
    reasoning_rate    INTEGER NOT NULL,
    per_request       INTEGER NOT NULL,
    max_output_tokens INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The ledger is append-only: for every user, balance = SUM(amount).
CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('topup', 'adjust', 'reserve', 'settle', 'refund')),
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    ref           TEXT    NOT NULL,
    note          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
) STRICT;
-- Idempotency of credits, and at most one reserve, settle or refund per request.
CREATE UNIQUE INDEX ledger_kind_ref ON ledger (kind, ref);
CREATE INDEX ledger_user ON ledger (user_id, id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

-- Money reserved by in-flight requests. A row lives from Reserve to Settle
-- or Refund; rows left by a crash are refunded at start-up.
CREATE TABLE holds (
    request_id TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    key_id     INTEGER REFERENCES api_keys (id),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- No index on created_at: the table only ever holds the requests in flight,
-- so the start-up scan for stale holds is cheap, while an index would be
-- written twice on every request.

-- Metadata of every request; no foreign keys so that logging never fails
-- and pruning never cascades.
CREATE TABLE request_logs (
    id                  INTEGER PRIMARY KEY,
    time                INTEGER NOT NULL,
    request_id          TEXT    NOT NULL,
    user_id             INTEGER NOT NULL,
    key_id              INTEGER NOT NULL,
    key_prefix          TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    channel_id          INTEGER NOT NULL,
    client_ip           TEXT    NOT NULL,
    stream              INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    usage_source        TEXT    NOT NULL,
    cost                INTEGER NOT NULL,
    latency_ms          REAL    NOT NULL,
    ttft_ms             REAL    NOT NULL,
    status              INTEGER NOT NULL,
    error_class         TEXT    NOT NULL
) STRICT;
CREATE INDEX request_logs_user ON request_logs (user_id, id);
CREATE INDEX request_logs_time ON request_logs (time);

CREATE TABLE settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
