-- The schema of the SQLite engine's migrations 0001-0011, in PostgreSQL's
-- own types: instants are timestamptz (UTC, to the second, as the bot
-- writes them), yes/no is boolean, structured values are jsonb, and row ids
-- are identity columns.  Everything lives in the schema `phananh` (the
-- connection's search_path), so a backup, a restore and `phananh db copy`
-- know exactly what is theirs.

-- Org chart: replaced as a whole by `phananh org import`.
CREATE TABLE areas (
    code text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('city', 'ward', 'zone', 'group')),
    parent text REFERENCES areas (code) DEFERRABLE INITIALLY DEFERRED,
    polygon jsonb,                 -- [[lon, lat], ...]
    centre_lon double precision,
    centre_lat double precision,
    position integer NOT NULL
);

CREATE TABLE categories (
    code text PRIMARY KEY,
    name text NOT NULL,
    name_en text NOT NULL,
    family text NOT NULL
        CHECK (family IN ('urban_order', 'sanitation', 'official_conduct', 'other')),
    resolve_days integer NOT NULL CHECK (resolve_days > 0),
    position integer NOT NULL,
    acknowledge_hours double precision NOT NULL DEFAULT 8,
    urgent boolean NOT NULL DEFAULT false,
    escalation jsonb,              -- [[after_days, target], ...]
    repeat integer NOT NULL DEFAULT 0,
    templates jsonb                -- {"acknowledge": [...], "resolve": [...]}
);

CREATE TABLE staff (
    id text PRIMARY KEY,
    name text NOT NULL,
    telegram_id bigint,
    position integer NOT NULL,
    active boolean NOT NULL DEFAULT true
);

CREATE TABLE staff_roles (
    staff_id text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('cadre', 'ward_leader', 'city_leader')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_wards (
    staff_id text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    ward text NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    position integer NOT NULL,
    PRIMARY KEY (staff_id, ward)
);

CREATE TABLE assignments (
    area text NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    category text NOT NULL REFERENCES categories (code) ON DELETE CASCADE,
    cadre text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (area, category)
);

CREATE TABLE family_defaults (
    ward text NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    family text NOT NULL,
    cadre text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (ward, family)
);

CREATE TABLE ward_policies (
    ward text PRIMARY KEY REFERENCES areas (code) ON DELETE CASCADE,
    leader text NOT NULL REFERENCES staff (id),
    conduct_leader text NOT NULL REFERENCES staff (id)
);

-- People are keyed by (channel, external id), never by username.
CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel text NOT NULL,
    external_id text NOT NULL,
    display_name text,
    username text,
    language text NOT NULL DEFAULT 'vi',
    created_at timestamptz NOT NULL DEFAULT date_trunc('second', now()),
    unreachable_at timestamptz,    -- blocked the bot (403): not retried forever
    UNIQUE (channel, external_id)
);

-- A staff record exists before anyone binds a chat account to it.
CREATE TABLE staff_bindings (
    staff_id text PRIMARY KEY,
    person_id bigint NOT NULL UNIQUE REFERENCES people (id),
    bound_at timestamptz NOT NULL
);

-- A complaint's content and handling; the people attached live apart.
-- Org codes are copied, not referenced: the chart may change, history must not.
CREATE TABLE complaints (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the tracking code, never reused
    category text NOT NULL,
    family text NOT NULL,
    area text NOT NULL,
    ward text NOT NULL,
    state text NOT NULL,
    owner text NOT NULL,
    concerns_leadership boolean NOT NULL DEFAULT false,
    description text NOT NULL,
    landmark text,
    lat double precision,
    lon double precision,
    created_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    resolution_note text,
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    version integer NOT NULL DEFAULT 0,
    -- Two clocks per complaint and the sweep's bookmark.
    clock_start timestamptz,       -- routed, or reopened: the clocks start here
    ack_due_at timestamptz,        -- acknowledge deadline
    urgent boolean NOT NULL DEFAULT false,
    paused_since timestamptz,      -- waiting for the resident's answer
    swept_until timestamptz,       -- schedule items up to here are done
    next_action_at timestamptz,    -- when the sweep must look again
    escalation_level integer NOT NULL DEFAULT 0,
    -- Held by a fallback because the person the chart names could not act.
    fallback_from text
);
CREATE INDEX complaints_owner_state ON complaints (owner, state);
CREATE INDEX complaints_ward_state ON complaints (ward, state);
CREATE INDEX complaints_next_action ON complaints (next_action_at, id)
    WHERE next_action_at IS NOT NULL;
CREATE INDEX complaints_fallback ON complaints (fallback_from) WHERE fallback_from IS NOT NULL;

CREATE TABLE complaint_people (
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    person_id bigint NOT NULL REFERENCES people (id),
    role text NOT NULL CHECK (role IN ('reporter', 'follower')),
    joined_at timestamptz NOT NULL,
    -- The resident chose to let the cadre see their name.
    show_name boolean NOT NULL DEFAULT false,
    PRIMARY KEY (complaint_id, person_id)
);
CREATE INDEX complaint_people_reporter ON complaint_people (person_id, joined_at);

CREATE TABLE complaint_photos (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    kind text NOT NULL CHECK (kind IN ('report', 'resolution', 'dispute', 'info')),
    channel text NOT NULL,
    file_ref text NOT NULL,
    position integer NOT NULL,
    -- A resident's "not fixed" retires the disputed result's photos.
    superseded_at timestamptz
);
CREATE INDEX complaint_photos_complaint ON complaint_photos (complaint_id);

-- Append-only history: the current state is derivable from it.  /forget
-- may mask the contact details in a note; nothing else ever changes.
CREATE TABLE complaint_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    at timestamptz NOT NULL,
    action text NOT NULL,
    from_state text,
    to_state text NOT NULL,
    actor_person_id bigint,
    actor_staff_id text,
    note text,
    data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER complaint_events_no_update
    BEFORE UPDATE OF id, complaint_id, at, action, from_state, to_state, actor_person_id,
        actor_staff_id ON complaint_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER complaint_events_no_truncate BEFORE TRUNCATE ON complaint_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- One conversation per person: the draft and what answer it waits for, and
-- the update that last moved it (a redelivered update changes nothing).
CREATE TABLE conversations (
    person_id bigint PRIMARY KEY REFERENCES people (id),
    kind text NOT NULL,
    step text NOT NULL,
    data jsonb NOT NULL,
    seq integer NOT NULL,
    updated_at timestamptz NOT NULL,
    last_update bigint
);

-- Every message the bot sends on its own initiative, written in the same
-- transaction as the change that causes it; marked sent only once accepted,
-- part by part.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint REFERENCES people (id),
    staff_id text,
    complaint_id bigint REFERENCES complaints (id),
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    sent_at timestamptz,
    given_up_at timestamptz,
    parts_done jsonb NOT NULL DEFAULT '[]',
    failing_since timestamptz,
    CHECK ((person_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX outbox_person ON outbox (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX outbox_complaint ON outbox (complaint_id) WHERE complaint_id IS NOT NULL;
CREATE INDEX outbox_staff_pending ON outbox (staff_id)
    WHERE staff_id IS NOT NULL AND sent_at IS NULL AND given_up_at IS NULL;

-- Messages that carry buttons, so stale keyboards can be edited away.
CREATE TABLE button_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    person_id bigint NOT NULL REFERENCES people (id),
    chat_id text NOT NULL,
    message_id text NOT NULL,
    sent_at timestamptz NOT NULL,
    cleared_at timestamptz
);
CREATE INDEX button_messages_open ON button_messages (complaint_id) WHERE cleared_at IS NULL;

-- Small facts the bot keeps between runs (the chart's version stamp, the
-- day of the last morning briefing, the bot's username).
CREATE TABLE meta (
    key text PRIMARY KEY,
    value text NOT NULL
);

-- One-time invites that bind a chat account to a staff record.  Only a
-- hash of the token is kept.
CREATE TABLE invites (
    token_hash text PRIMARY KEY,
    staff_id text NOT NULL,
    role text NOT NULL CHECK (role IN ('cadre', 'ward_leader', 'city_leader')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    created_by text NOT NULL,      -- 'cli', or the staff id of the leader who asked
    used_at timestamptz,
    used_by bigint REFERENCES people (id),
    rebind boolean NOT NULL DEFAULT false
);
CREATE INDEX invites_staff ON invites (staff_id);

-- Updates a channel delivered: claimed when handling starts, done at the
-- end (a done one is never handled again; one cut off is, once more).
CREATE TABLE processed_updates (
    channel text NOT NULL,
    update_id bigint NOT NULL,
    claimed_at timestamptz NOT NULL,
    done_at timestamptz,
    PRIMARY KEY (channel, update_id)
);
CREATE INDEX processed_updates_claimed ON processed_updates (claimed_at);

-- The abuse list: a blocked account's updates are dropped without a word.
CREATE TABLE blocked_people (
    person_id bigint PRIMARY KEY REFERENCES people (id),
    reason text NOT NULL,
    blocked_at timestamptz NOT NULL
);

-- Every disclosure of an anonymous reporter's identity to a leader.
CREATE TABLE identity_access (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    staff_id text NOT NULL,
    at timestamptz NOT NULL
);

-- One row per digest week: "once per week" is the primary key.
CREATE TABLE digest_runs (
    week text PRIMARY KEY,         -- ISO week reported, e.g. 2026-W47
    queued_at timestamptz NOT NULL,
    recipients integer NOT NULL
);

-- Webhook mode: an update is answered 200 only once it is stored here, and
-- deleted once handled.  The body is kept as the text Telegram sent.
CREATE TABLE webhook_updates (
    channel text NOT NULL,
    update_id bigint NOT NULL,
    payload text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (channel, update_id)
);

-- Who changed the ward's set-up from the command line, and when.
-- Append-only, as complaint_events.
CREATE TABLE admin_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,            -- org_import, staff_deactivate, people_block, people_unblock
    subject text NOT NULL DEFAULT '',
    person_id bigint,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE TRIGGER admin_log_no_update BEFORE UPDATE ON admin_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER admin_log_no_delete BEFORE DELETE ON admin_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER admin_log_no_truncate BEFORE TRUNCATE ON admin_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
