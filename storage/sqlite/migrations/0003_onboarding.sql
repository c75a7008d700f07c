-- Staff can be deactivated: their open tasks are rerouted and routing skips them.
ALTER TABLE staff ADD COLUMN active INTEGER NOT NULL DEFAULT 1;

-- One-time invite links that bind a Telegram account to a staff record.
-- Only a hash of the token is kept: a copy of the database cannot be used
-- to take over an invite.
CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('cadre', 'ward_leader', 'city_leader')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT NOT NULL,     -- 'cli', or the staff id of the leader who asked
    used_at TEXT,
    used_by INTEGER REFERENCES people (id)
);
CREATE INDEX invites_staff ON invites (staff_id);

-- Short reply templates per category, for acknowledging and resolving.
ALTER TABLE categories ADD COLUMN templates TEXT;  -- JSON {"acknowledge": [...], "resolve": [...]}
