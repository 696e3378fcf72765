-- Asynchronous generation tasks (video): one row per task, from submission
-- until its hold is settled and after, so that any gateway node can poll the
-- upstream for it and settle it once. Metadata only: no prompt and no output
-- is ever stored, only where the upstream put the result.
--
-- id is the public task id and also the request id of the task's hold. A
-- node that polls a task holds a lease on it (lease_owner until lease_until);
-- a lease that has run out may be taken by another node. A task stays
-- claimable until settled, even once completed or failed, so a crash between
-- the upstream's answer and the settlement is finished by the next claimer.
CREATE TABLE tasks (
    id            TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    key_id        INTEGER NOT NULL DEFAULT 0, -- 0: no key
    model         TEXT    NOT NULL,
    channel_id    INTEGER NOT NULL,
    kind          TEXT    NOT NULL,           -- the upstream's task API: sora, seedance
    upstream_id   TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'in_progress', 'completed', 'failed')),
    progress      INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    held          INTEGER NOT NULL CHECK (held >= 0),
    cost          INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
    seconds       INTEGER NOT NULL DEFAULT 0,
    resolution    TEXT    NOT NULL DEFAULT '',
    size          TEXT    NOT NULL DEFAULT '',
    error_code    TEXT    NOT NULL DEFAULT '',
    error_message TEXT    NOT NULL DEFAULT '',
    result_url    TEXT    NOT NULL DEFAULT '',
    usage_tokens  INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT    NOT NULL DEFAULT '',
    lease_until   INTEGER,
    next_poll_at  INTEGER NOT NULL,
    polls         INTEGER NOT NULL DEFAULT 0,
    settled       INTEGER NOT NULL DEFAULT 0 CHECK (settled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    expires_at    INTEGER
) STRICT;
-- The pollers' queue: only unsettled tasks, so it stays small however many
-- tasks have finished.
CREATE INDEX tasks_due ON tasks (next_poll_at) WHERE NOT settled;
CREATE INDEX tasks_user ON tasks (user_id, created_at);
