-- SQLite's 0018: residents follow a report of the same problem instead of
-- filing it again (bot/app/following.py).  A follower is a complaint_people
-- row with role 'follower'; followed_from is their own complaint a cadre
-- rejected as a duplicate of this one (NULL: they chose to follow it).
ALTER TABLE complaint_people ADD COLUMN followed_from bigint REFERENCES complaints (id);

-- Open complaints of one category filed in the last 30 days.
CREATE INDEX complaints_category_created ON complaints (category, created_at);
