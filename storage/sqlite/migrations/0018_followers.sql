-- Issue 17: residents follow a report of the same problem instead of
-- filing it again (bot/app/following.py).  A follower is a complaint_people
-- row with role 'follower' (the role was foreseen in 0001); it gets the
-- reporter's notices and may confirm or dispute the fix.
--
-- followed_from: the follower's own complaint a cadre rejected as a
-- duplicate of this one (their report moved here), NULL when they chose to
-- follow at their review.
ALTER TABLE complaint_people ADD COLUMN followed_from INTEGER REFERENCES complaints (id);

-- The review's question "is this already reported?": open complaints of
-- one category filed in the last 30 days.
CREATE INDEX complaints_category_created ON complaints (category, created_at);
