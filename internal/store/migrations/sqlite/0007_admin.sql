-- Operators of the web console. role is 'user' or 'admin'; only an admin
-- sees the console's /admin pages.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- What admins did, append-only: who (actor_user_id, 0 for the admin API's
-- token or the operator's config), what (action), on what (target) and
-- the details (never a prompt or a secret).
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    actor_user_id INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    detail        TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX request_logs_model ON request_logs (model, id);
