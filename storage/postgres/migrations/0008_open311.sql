-- SQLite's 0017: the city's platforms through Open311 GeoReport v2
-- (bot/app/open311.py).  Each integration's key, kept as its SHA-256 only;
-- a revoked key stays listed, refused.
CREATE TABLE api_keys (
    name text PRIMARY KEY,
    key_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);

-- A POSTed request's reporter: a person with no account, one per request;
-- the phone and e-mail the platform sent are their contact, never published.
CREATE TABLE open311_reporters (
    person_id bigint PRIMARY KEY REFERENCES people (id),
    api_key text NOT NULL REFERENCES api_keys (name),
    phone text,
    email text,
    created_at timestamptz NOT NULL
);

-- Nothing can be sent to such a reporter: a notice to them is marked given
-- up as it is written, rather than waiting for an account that never comes.
CREATE FUNCTION outbox_open311_no_chat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.person_id IS NOT NULL AND NEW.given_up_at IS NULL AND NEW.sent_at IS NULL
        AND EXISTS (SELECT 1 FROM open311_reporters r WHERE r.person_id = NEW.person_id) THEN
        NEW.given_up_at := NEW.created_at;
        NEW.last_error := 'open311: no chat';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER outbox_open311_no_chat BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_open311_no_chat();
