-- Webhook mode: Telegram is answered 200 only once its update is stored
-- here (committed); the row is deleted once the update was handled, and what
-- a crash left behind is handled at the next start (bot/webhook.py).
CREATE TABLE webhook_updates (
    channel TEXT NOT NULL,
    update_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, update_id)
);

-- An invite takes a staff record over from the account that holds it only
-- when the command line asked for that (`phananh invite --rebind`).
ALTER TABLE invites ADD COLUMN rebind INTEGER NOT NULL DEFAULT 0;

-- /forget masks the phone numbers, e-mail addresses and ID-card numbers in
-- the notes the resident wrote; every other column of the history stays
-- append-only.
DROP TRIGGER complaint_events_no_update;
CREATE TRIGGER complaint_events_no_update
BEFORE UPDATE OF id, complaint_id, at, action, from_state, to_state, actor_person_id,
    actor_staff_id ON complaint_events
BEGIN
    SELECT RAISE(ABORT, 'complaint_events is append-only');
END;
