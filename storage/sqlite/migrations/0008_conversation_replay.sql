-- After a crash Telegram delivers again an update the bot had not finished,
-- and the processed-update table lets it be handled once more.  By then the
-- conversation may already have moved on because of it: a typed "2" would be
-- applied again to the next question.  Each conversation records the update
-- that last moved it, so that update is recognised and changes nothing.
ALTER TABLE conversations ADD COLUMN last_update INTEGER;
