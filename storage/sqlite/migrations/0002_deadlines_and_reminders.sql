-- Two clocks per complaint and the sweep's bookmark.
ALTER TABLE complaints ADD COLUMN clock_start TEXT;      -- routed, or reopened: the clocks start here
ALTER TABLE complaints ADD COLUMN ack_due_at TEXT;       -- acknowledge deadline
ALTER TABLE complaints ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN paused_since TEXT;     -- waiting for the resident's answer
ALTER TABLE complaints ADD COLUMN swept_until TEXT;      -- schedule items up to here are done
ALTER TABLE complaints ADD COLUMN next_action_at TEXT;   -- when the sweep must look again
ALTER TABLE complaints ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;

UPDATE complaints SET clock_start = created_at, ack_due_at = created_at, swept_until = created_at,
    next_action_at = CASE WHEN state IN ('submitted', 'acknowledged', 'reopened', 'resolved')
                          THEN created_at END;

CREATE INDEX complaints_next_action ON complaints (next_action_at)
    WHERE next_action_at IS NOT NULL;

-- Category policy: the acknowledge clock, urgency and escalation levels.
ALTER TABLE categories ADD COLUMN acknowledge_hours REAL NOT NULL DEFAULT 8;
ALTER TABLE categories ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE categories ADD COLUMN escalation TEXT;       -- JSON [[after_days, target], ...]
ALTER TABLE categories ADD COLUMN repeat INTEGER NOT NULL DEFAULT 0;

-- A person who blocked the bot (403) is not retried forever.
ALTER TABLE people ADD COLUMN unreachable_at TEXT;

-- An outbox row that can never be delivered is given up, not retried forever.
ALTER TABLE outbox ADD COLUMN given_up_at TEXT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL AND given_up_at IS NULL;

-- Small facts the bot keeps between runs (e.g. the day of the last morning briefing).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
