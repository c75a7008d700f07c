-- Issue 16: the leaders' dashboard at /web/ (bot/app/web.py, bot/web/).
--
-- A leader types /web (or IT runs `phananh web link`) and gets a one-time
-- sign-in link, valid 15 minutes: only the SHA-256 of its token is kept,
-- and it is used at most once (used_at).
CREATE TABLE web_signins (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Opening the link starts a session (a cookie): kept here by the SHA-256 of
-- its id, so any process serves it, and it ends when it expires, when the
-- leader signs out, or when `phananh web revoke` ends it.
CREATE TABLE web_sessions (
    session_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX web_sessions_staff ON web_sessions (staff_id) WHERE ended_at IS NULL;
