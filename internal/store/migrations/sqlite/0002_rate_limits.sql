-- Rate limits: requests per minute, tokens per minute and requests in
-- flight, for keys, users, models and channels. 0 means unlimited (for keys
-- and users: the configured default, if any).
ALTER TABLE api_keys ADD COLUMN rpm        INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0);
ALTER TABLE api_keys ADD COLUMN tpm        INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0);
ALTER TABLE api_keys ADD COLUMN concurrent INTEGER NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE users ADD COLUMN rpm        INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0);
ALTER TABLE users ADD COLUMN tpm        INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0);
ALTER TABLE users ADD COLUMN concurrent INTEGER NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE models ADD COLUMN rpm        INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0);
ALTER TABLE models ADD COLUMN tpm        INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0);
ALTER TABLE models ADD COLUMN concurrent INTEGER NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE channels ADD COLUMN rpm        INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0);
ALTER TABLE channels ADD COLUMN tpm        INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0);
ALTER TABLE channels ADD COLUMN concurrent INTEGER NOT NULL DEFAULT 0 CHECK (concurrent >= 0);
