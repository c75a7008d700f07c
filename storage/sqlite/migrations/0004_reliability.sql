-- Telegram redelivers an update when the bot died before confirming it.
-- An update is claimed when its processing starts and marked done at the
-- end: a done one is never processed again; one that was cut off by a crash
-- is processed once more (the documented at-most-once-more window).
CREATE TABLE processed_updates (
    channel TEXT NOT NULL,
    update_id INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (channel, update_id)
);
CREATE INDEX processed_updates_claimed ON processed_updates (claimed_at);

-- The abuse list: a blocked account's updates are dropped without a word.
CREATE TABLE blocked_people (
    person_id INTEGER PRIMARY KEY REFERENCES people (id),
    reason TEXT NOT NULL,
    blocked_at TEXT NOT NULL
);

-- Counting a resident's recent complaints (the per-resident limit).
CREATE INDEX complaint_people_reporter ON complaint_people (person_id, joined_at);

-- Anonymity: the resident chooses at confirm time whether the cadre may see
-- their name (hidden by default, as FixMyStreet does).
ALTER TABLE complaint_people ADD COLUMN show_name INTEGER NOT NULL DEFAULT 0;

-- Leaders see an anonymous reporter's identity only for official-conduct
-- complaints; every such disclosure is logged here.
CREATE TABLE identity_access (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    staff_id TEXT NOT NULL,
    at TEXT NOT NULL
);
