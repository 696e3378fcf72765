-- Redemption codes (top-up codes). Only the SHA-256 digest (hex) of each
-- code is stored, so a leaked database cannot be redeemed; prefix is the
-- code's first characters, for people to recognise it. A code is redeemed
-- at most once: redeemed_by and redeemed_at are set in the same
-- transaction as the ledger credit, whose ref is "code:<digest>".
CREATE TABLE codes (
    code_digest TEXT    PRIMARY KEY,
    prefix      TEXT    NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    expires_at  INTEGER,
    batch       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    redeemed_by INTEGER REFERENCES users (id),
    redeemed_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX codes_batch ON codes (batch, created_at);
