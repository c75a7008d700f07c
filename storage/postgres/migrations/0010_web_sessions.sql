-- SQLite's 0019: the leaders' dashboard at /web/ (bot/app/web.py).  One-time
-- sign-in links (the SHA-256 of the token only, used at most once) and the
-- sessions they start (the SHA-256 of the cookie's id; ended by expiry,
-- signing out or `phananh web revoke`).
CREATE TABLE web_signins (
    token_hash text PRIMARY KEY,
    staff_id text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE web_sessions (
    session_hash text PRIMARY KEY,
    staff_id text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX web_sessions_staff ON web_sessions (staff_id) WHERE ended_at IS NULL;
