-- Issue 16: the city's platforms (iHanoi, 1022, Hue-S) exchange requests
-- with the ward through Open311 GeoReport v2 (bot/app/open311.py).
--
-- Each integration's key: only its SHA-256 is kept (the key itself is shown
-- once, by `phananh apikey create`); a revoked key stays listed, refused.
CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);

-- A request a platform POSTed has no chat: its reporter is a person with no
-- account, one per request, who came through the key named here.  The
-- phone and e-mail the platform sent are their contact, for the ward
-- office; Open311 never publishes them.
CREATE TABLE open311_reporters (
    person_id INTEGER PRIMARY KEY REFERENCES people (id),
    api_key TEXT NOT NULL REFERENCES api_keys (name),
    phone TEXT,
    email TEXT,
    created_at TEXT NOT NULL
);

-- Nothing can be sent to such a reporter (their updates are read through
-- GET requests): a notice to them is marked given up as it is written,
-- rather than waiting in the outbox for an account that never comes.
CREATE TRIGGER outbox_open311_no_chat AFTER INSERT ON outbox
WHEN NEW.person_id IS NOT NULL AND NEW.given_up_at IS NULL AND NEW.sent_at IS NULL
    AND EXISTS (SELECT 1 FROM open311_reporters r WHERE r.person_id = NEW.person_id)
BEGIN
    UPDATE outbox SET given_up_at = NEW.created_at, last_error = 'open311: no chat'
    WHERE id = NEW.id;
END;
