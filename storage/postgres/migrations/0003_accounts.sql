-- A person is one record with accounts on channels (SQLite's migration
-- 0012): a cadre may write from Telegram and from Zalo and is still one
-- person, with one staff record, one list of complaints, one language.
-- Until now a person was one (channel, id); each such row keeps its id and
-- becomes a person with one account, so every table that names a person
-- keeps pointing at the right one.

-- Each account on a channel, and whose it is.  ``last_seen_at`` orders a
-- person's accounts: messages go to the one they used last (written when
-- they turn to another account, and at most daily otherwise).
-- Reachability is per account: a cadre who blocked the bot on Telegram may
-- still be reached on Zalo.  ``ordinal`` numbers the accounts in the order
-- they were added, which breaks the ties of that order as SQLite's rowid
-- does there (`phananh db copy` numbers them in the file's rowid order).
CREATE TABLE accounts (
    channel text NOT NULL,
    external_id text NOT NULL,
    person_id bigint NOT NULL REFERENCES people (id),
    display_name text,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz,
    unreachable_at timestamptz,
    ordinal bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX accounts_person ON accounts (person_id);
-- A forgotten person (/forget) keeps no account.
INSERT INTO accounts (channel, external_id, person_id, display_name, created_at, last_seen_at,
                      unreachable_at)
    SELECT channel, external_id, id, display_name, created_at, created_at, unreachable_at
    FROM people WHERE channel <> 'forgotten' ORDER BY id;

-- A record whose accounts joined another person's (a staff member bound an
-- account that had written as a resident): its complaints moved with them;
-- the history it acted in still names it, and reads as theirs.
ALTER TABLE people
    DROP COLUMN channel,
    DROP COLUMN external_id,
    DROP COLUMN username,
    DROP COLUMN unreachable_at,
    ADD COLUMN merged_into bigint REFERENCES people (id);
CREATE INDEX people_merged_into ON people (merged_into) WHERE merged_into IS NOT NULL;

-- The org chart may name a staff member's Zalo account too (rarely known in
-- advance: staff usually bind it with their one-time code).
ALTER TABLE staff ADD COLUMN zalo_id text;

-- An invite the command line minted to add an account (on another channel)
-- to a staff member already bound, beside the ones they have
-- (`phananh invite --add`).
ALTER TABLE invites ADD COLUMN adds_account boolean NOT NULL DEFAULT false;

-- Update ids are the channel's own strings (Telegram's update_id in
-- decimal, Zalo's message_id).
ALTER TABLE processed_updates ALTER COLUMN update_id TYPE text USING update_id::text;
ALTER TABLE conversations ALTER COLUMN last_update TYPE text USING last_update::text;

-- The webhook's inbox hands a crash's leftovers back in the order they
-- came, which strings no longer tell: ``ordinal`` numbers them as they
-- arrive (the rows already stored, in their numeric order).
CREATE TABLE webhook_inbox (
    channel text NOT NULL,
    update_id text NOT NULL,
    payload text NOT NULL,
    received_at timestamptz NOT NULL,
    ordinal bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (channel, update_id)
);
INSERT INTO webhook_inbox (channel, update_id, payload, received_at)
    SELECT w.channel, w.update_id::text, w.payload, w.received_at FROM webhook_updates w
    ORDER BY w.update_id;  -- the number: the text would put 1000000000 before 999999999
DROP TABLE webhook_updates;
ALTER TABLE webhook_inbox RENAME TO webhook_updates;
ALTER INDEX webhook_inbox_pkey RENAME TO webhook_updates_pkey;
