-- Rate limits: requests per minute, tokens per minute and requests in
-- flight, for keys, users, models and channels. 0 means unlimited (for keys
-- and users: the configured default, if any). BIGINT, as Go reads them into
-- int64: a tokens-per-minute cap may pass 2^31.
ALTER TABLE api_keys
    ADD COLUMN rpm        BIGINT NOT NULL DEFAULT 0 CHECK (rpm >= 0),
    ADD COLUMN tpm        BIGINT NOT NULL DEFAULT 0 CHECK (tpm >= 0),
    ADD COLUMN concurrent BIGINT NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE users
    ADD COLUMN rpm        BIGINT NOT NULL DEFAULT 0 CHECK (rpm >= 0),
    ADD COLUMN tpm        BIGINT NOT NULL DEFAULT 0 CHECK (tpm >= 0),
    ADD COLUMN concurrent BIGINT NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE models
    ADD COLUMN rpm        BIGINT NOT NULL DEFAULT 0 CHECK (rpm >= 0),
    ADD COLUMN tpm        BIGINT NOT NULL DEFAULT 0 CHECK (tpm >= 0),
    ADD COLUMN concurrent BIGINT NOT NULL DEFAULT 0 CHECK (concurrent >= 0);

ALTER TABLE channels
    ADD COLUMN rpm        BIGINT NOT NULL DEFAULT 0 CHECK (rpm >= 0),
    ADD COLUMN tpm        BIGINT NOT NULL DEFAULT 0 CHECK (tpm >= 0),
    ADD COLUMN concurrent BIGINT NOT NULL DEFAULT 0 CHECK (concurrent >= 0);
