-- Each stored update names its chat, as on PostgreSQL (its 0006): the
-- stored updates of a chat are handled one after the other, in the order
-- they were stored (bot/app/inbox.py).  An SQLite file serves one bot
-- process (phananh run refuses a second), so no lock is taken here.  Rows
-- stored before this migration share the chat '' and keep their order.
ALTER TABLE webhook_updates ADD COLUMN chat TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_updates_chat ON webhook_updates (channel, chat);
