-- Prices of generated media next to the token prices: per_image is the
-- default price of one image and per_second of one second of video, in
-- Micros (0: unset); media_prices holds the more specific ones as JSON,
-- {"images": {"1024x1024/high": 167000, "2K": 30000}, "seconds": {"720p": 100000}}.
-- TEXT, as on SQLite: the gateway reads it whole and never queries into it.
ALTER TABLE models
    ADD COLUMN per_image    BIGINT NOT NULL DEFAULT 0 CHECK (per_image >= 0),
    ADD COLUMN per_second   BIGINT NOT NULL DEFAULT 0 CHECK (per_second >= 0),
    ADD COLUMN media_prices TEXT   NOT NULL DEFAULT '{}' CHECK (media_prices::jsonb IS NOT NULL);
