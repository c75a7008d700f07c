-- Several bot processes on one database (issue 15).
--
-- Each stored update names its chat: whichever process got an update, the
-- chat's stored updates are handled one after the other, in the order they
-- were stored, by the one process that holds the chat's turn (an advisory
-- lock: storage/postgres/inbox.py).  Rows stored before this migration
-- share the chat '' and are handled in their order.
ALTER TABLE webhook_updates ADD COLUMN chat text NOT NULL DEFAULT '';
CREATE INDEX webhook_updates_chat ON webhook_updates (channel, chat, ordinal);

-- The platforms' per-bot rates, one bucket for every process
-- (storage/postgres/pace.py): the moment the next message of a bucket
-- ("telegram", "zalo") may leave, moved by one atomic statement per send.
-- UNLOGGED: no WAL and no flush to disk for each message; a server crash
-- empties it, which loses nothing (the next message may then leave at
-- once).  Not copied, not backed up: it is state of the moment.
CREATE UNLOGGED TABLE send_pace (
    bucket text PRIMARY KEY,
    next_at timestamptz NOT NULL
);
