-- Delivery part by part.  One outbox row can stand for several messages (the
-- photos, the location pin, a text too long for one message); each part
-- Telegram accepted is recorded at once, so a retry or a restart sends only
-- the parts still missing, never a photo twice.
ALTER TABLE outbox ADD COLUMN parts_done TEXT NOT NULL DEFAULT '[]';
-- When the row first failed: a row that cannot be delivered is given up
-- after a bounded time (and the ward leader told), not retried for days.
ALTER TABLE outbox ADD COLUMN failing_since TEXT;

-- A resident's "not fixed" retires the disputed result's photos: a later
-- resolution without a photo must not show them again as its proof.
ALTER TABLE complaint_photos ADD COLUMN superseded_at TEXT;
