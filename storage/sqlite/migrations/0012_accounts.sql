-- A person is one record with accounts on channels: a cadre may write from
-- Telegram and from Zalo and is still one person, with one staff record,
-- one list of complaints, one language.  Until now a person was one
-- (channel, id); each such row becomes a person with one account.
--
-- ``people`` is rebuilt without its per-channel columns.  Its id stays, so
-- every table that names a person keeps pointing at the right one; the
-- foreign keys are checked when the migration commits (deferred), and an
-- id lost on the way would refuse the whole migration.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE people_before AS
    SELECT id, channel, external_id, display_name, language, created_at, unreachable_at
    FROM people;
DROP TABLE people;

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    display_name TEXT,
    language TEXT NOT NULL DEFAULT 'vi',
    created_at TEXT NOT NULL,
    -- A record whose accounts joined another person's (a staff member bound
    -- an account that had written as a resident): its complaints moved
    -- with them; the history it acted in still names it, and reads as theirs.
    merged_into INTEGER REFERENCES people (id)
);
INSERT INTO people (id, display_name, language, created_at)
    SELECT id, display_name, language, created_at FROM people_before;

-- Each account on a channel, and whose it is.  ``last_seen_at`` orders a
-- person's accounts: messages go to the one they used last (it is written
-- when they turn to another account, and at most daily otherwise).
-- Reachability is per account: a cadre who blocked the bot on Telegram may
-- still be reached on Zalo.
CREATE TABLE accounts (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id),
    display_name TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT,
    unreachable_at TEXT,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX accounts_person ON accounts (person_id);
-- A forgotten person (/forget) keeps no account.
INSERT INTO accounts (channel, external_id, person_id, display_name, created_at, last_seen_at,
                      unreachable_at)
    SELECT channel, external_id, id, display_name, created_at, created_at, unreachable_at
    FROM people_before WHERE channel <> 'forgotten';
DROP TABLE people_before;

-- The org chart may name a staff member's Zalo account too (rarely known in
-- advance: staff usually bind it with their one-time code).
ALTER TABLE staff ADD COLUMN zalo_id TEXT;

-- An invite the command line minted to add an account (on another channel)
-- to a staff member already bound, beside the ones they have
-- (`phananh invite --add`).
ALTER TABLE invites ADD COLUMN adds_account INTEGER NOT NULL DEFAULT 0;

-- Update ids are the channel's own strings (Telegram's update_id in decimal,
-- Zalo's message_id).
CREATE TABLE updates_before AS SELECT * FROM processed_updates;
DROP TABLE processed_updates;
CREATE TABLE processed_updates (
    channel TEXT NOT NULL,
    update_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (channel, update_id)
);
INSERT INTO processed_updates (channel, update_id, claimed_at, done_at)
    SELECT channel, CAST(update_id AS TEXT), claimed_at, done_at FROM updates_before;
CREATE INDEX processed_updates_claimed ON processed_updates (claimed_at);
DROP TABLE updates_before;

CREATE TABLE inbox_before AS SELECT * FROM webhook_updates;
DROP TABLE webhook_updates;
CREATE TABLE webhook_updates (
    channel TEXT NOT NULL,
    update_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, update_id)
);
INSERT INTO webhook_updates (channel, update_id, payload, received_at)
    SELECT channel, CAST(update_id AS TEXT), payload, received_at FROM inbox_before
    ORDER BY update_id;
DROP TABLE inbox_before;

ALTER TABLE conversations ADD COLUMN last_update_text TEXT;
UPDATE conversations SET last_update_text = CAST(last_update AS TEXT);
ALTER TABLE conversations DROP COLUMN last_update;
ALTER TABLE conversations RENAME COLUMN last_update_text TO last_update;
