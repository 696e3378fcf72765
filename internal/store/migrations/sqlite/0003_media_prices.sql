-- Prices of generated media next to the token prices: per_image is the
-- default price of one image and per_second of one second of video, in
-- Micros (0: unset); media_prices holds the more specific ones as JSON,
-- {"images": {"1024x1024/high": 167000, "2K": 30000}, "seconds": {"720p": 100000}}.
ALTER TABLE models ADD COLUMN per_image    INTEGER NOT NULL DEFAULT 0 CHECK (per_image >= 0);
ALTER TABLE models ADD COLUMN per_second   INTEGER NOT NULL DEFAULT 0 CHECK (per_second >= 0);
ALTER TABLE models ADD COLUMN media_prices TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(media_prices));
