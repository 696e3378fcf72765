-- The web console's accounts. A user created by the admin API or the config
-- file has no password ('') and cannot log in to the console until one is
-- set. terms_accepted_at records when the user accepted the Terms of Service
-- and Privacy Policy at sign-up (NULL: never, e.g. created by the operator).
ALTER TABLE users
    ADD COLUMN password_hash     TEXT NOT NULL DEFAULT '',
    ADD COLUMN terms_accepted_at TIMESTAMPTZ;

-- Console sessions. The cookie holds a random token; only its SHA-256
-- digest (hex) is stored, so a leaked database cannot be replayed as a
-- cookie. csrf is the token every form of the session must carry.
CREATE TABLE sessions (
    digest     TEXT        PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    csrf       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Invitation codes for sign-up mode "invite": the SHA-256 digest (hex) of
-- each code, usable once.
CREATE TABLE invites (
    digest     TEXT        PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    used_by    BIGINT      REFERENCES users (id),
    used_at    TIMESTAMPTZ
);
