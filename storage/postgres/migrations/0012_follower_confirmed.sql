-- When a follower last said "fixed" to the current fix, while the reporter
-- could still answer (bot/app/residents.py): should the reporter stay silent
-- past the wait, the sweep closes the complaint as confirmed on that word
-- rather than "closed unconfirmed".  Cleared by a new fix or a dispute.
ALTER TABLE complaints ADD COLUMN follower_confirmed_at timestamptz;
