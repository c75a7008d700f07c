-- Issue 17: the ward's own words for a category (`words:` in the org file,
-- "xà bần"): a resident's text that holds one is suggested that category
-- first (bot/domain/suggest.py).  A JSON list; NULL in charts imported before.
ALTER TABLE categories ADD COLUMN words jsonb;
