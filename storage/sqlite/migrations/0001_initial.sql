-- Org chart: replaced as a whole by `phananh org import`.
CREATE TABLE areas (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('city', 'ward', 'zone', 'group')),
    parent TEXT REFERENCES areas (code) DEFERRABLE INITIALLY DEFERRED,
    polygon TEXT,            -- JSON [[lon, lat], ...]
    centre_lon REAL,
    centre_lat REAL,
    position INTEGER NOT NULL
);

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    family TEXT NOT NULL CHECK (family IN ('urban_order', 'sanitation', 'official_conduct', 'other')),
    resolve_days INTEGER NOT NULL CHECK (resolve_days > 0),
    position INTEGER NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    telegram_id INTEGER,
    position INTEGER NOT NULL
);

CREATE TABLE staff_roles (
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('cadre', 'ward_leader', 'city_leader')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_wards (
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    ward TEXT NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (staff_id, ward)
);

CREATE TABLE assignments (
    area TEXT NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    category TEXT NOT NULL REFERENCES categories (code) ON DELETE CASCADE,
    cadre TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (area, category)
);

CREATE TABLE family_defaults (
    ward TEXT NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    family TEXT NOT NULL,
    cadre TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (ward, family)
);

CREATE TABLE ward_policies (
    ward TEXT PRIMARY KEY REFERENCES areas (code) ON DELETE CASCADE,
    leader TEXT NOT NULL REFERENCES staff (id),
    conduct_leader TEXT NOT NULL REFERENCES staff (id)
);

-- People are keyed by (channel, external id), never by username.
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    display_name TEXT,
    username TEXT,
    language TEXT NOT NULL DEFAULT 'vi',
    created_at TEXT NOT NULL,
    UNIQUE (channel, external_id)
);

-- A staff record exists before anyone binds a chat account to it.
CREATE TABLE staff_bindings (
    staff_id TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL UNIQUE REFERENCES people (id),
    bound_at TEXT NOT NULL
);

-- A complaint's content and handling; the people attached live apart.
-- Org codes are copied, not referenced: the chart may change, history must not.
CREATE TABLE complaints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the tracking code's sequence, never reused
    category TEXT NOT NULL,
    family TEXT NOT NULL,
    area TEXT NOT NULL,
    ward TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    concerns_leadership INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL,
    landmark TEXT,
    lat REAL,
    lon REAL,
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    acknowledged_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    resolution_note TEXT,
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX complaints_owner_state ON complaints (owner, state);
CREATE INDEX complaints_ward_state ON complaints (ward, state);

CREATE TABLE complaint_people (
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    person_id INTEGER NOT NULL REFERENCES people (id),
    role TEXT NOT NULL CHECK (role IN ('reporter', 'follower')),
    joined_at TEXT NOT NULL,
    PRIMARY KEY (complaint_id, person_id)
);
CREATE INDEX complaint_people_person ON complaint_people (person_id);

CREATE TABLE complaint_photos (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    kind TEXT NOT NULL CHECK (kind IN ('report', 'resolution', 'dispute', 'info')),
    channel TEXT NOT NULL,
    file_ref TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX complaint_photos_complaint ON complaint_photos (complaint_id);

-- Append-only history: the current state is derivable from it.
CREATE TABLE complaint_events (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor_person_id INTEGER,
    actor_staff_id TEXT,
    note TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);
CREATE TRIGGER complaint_events_no_update BEFORE UPDATE ON complaint_events
BEGIN
    SELECT RAISE(ABORT, 'complaint_events is append-only');
END;
CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events
BEGIN
    SELECT RAISE(ABORT, 'complaint_events is append-only');
END;

-- One conversation per person: the draft and what answer it waits for.
CREATE TABLE conversations (
    person_id INTEGER PRIMARY KEY REFERENCES people (id),
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every message the bot sends on its own initiative, written in the same
-- transaction as the change that causes it; marked sent only once accepted.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    person_id INTEGER REFERENCES people (id),
    staff_id TEXT,
    complaint_id INTEGER REFERENCES complaints (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    CHECK ((person_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Messages that carry buttons, so stale keyboards can be edited away.
CREATE TABLE button_messages (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    person_id INTEGER NOT NULL REFERENCES people (id),
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE INDEX button_messages_open ON button_messages (complaint_id) WHERE cleared_at IS NULL;
