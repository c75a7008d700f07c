-- The weekly digest's aggregates (storage/digest.py) find the complaints a
-- period touches through these: each is (ward, instant, created_at), so one
-- ward's digest reads only its own rows, the whole city's walks the same
-- indexes once per ward, and "is it older than the period?" is answered from
-- the index without reading the row.
CREATE INDEX complaints_ward_created ON complaints (ward, created_at);
CREATE INDEX complaints_ward_resolved ON complaints (ward, resolved_at, created_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX complaints_ward_closed ON complaints (ward, closed_at, created_at)
    WHERE closed_at IS NOT NULL;
CREATE INDEX complaints_ward_acknowledged ON complaints (ward, acknowledged_at, created_at)
    WHERE acknowledged_at IS NOT NULL;
CREATE INDEX complaints_ward_state_created ON complaints (ward, state, created_at);
-- The whole city reads rows in time order instead (ids follow filing order,
-- so the table is read nearly in order): time first, the ward to filter.
CREATE INDEX complaints_created_ward ON complaints (created_at, ward);
CREATE INDEX complaints_resolved_ward ON complaints (resolved_at, ward)
    WHERE resolved_at IS NOT NULL;
-- Disputes ("not fixed") of a period, for the satisfaction line.
CREATE INDEX complaint_events_action_at ON complaint_events (action, at);

-- One row per digest week: when it was queued and for how many leaders
-- (0 for the week the bot first ran, which is only a starting mark).
-- The primary key makes "once per week" a constraint, and the rows keep the
-- history (the `meta` table would keep only the last week).  When each
-- leader's copy was delivered is the outbox row's sent_at.
CREATE TABLE digest_runs (
    week TEXT PRIMARY KEY,          -- ISO week reported, e.g. 2026-W47
    queued_at TEXT NOT NULL,
    recipients INTEGER NOT NULL
);
