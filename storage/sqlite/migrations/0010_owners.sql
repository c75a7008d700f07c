-- A complaint held by a fallback because the person the org chart names
-- could not act (not joined, blocked the bot, deactivated): their staff id,
-- so it goes back to them once they can be reached (bot/domain/owners.py).
ALTER TABLE complaints ADD COLUMN fallback_from TEXT;
CREATE INDEX complaints_fallback ON complaints (fallback_from) WHERE fallback_from IS NOT NULL;
