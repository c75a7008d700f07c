-- Photos are the project's own (issue 13).  A photo's bytes are kept when
-- it arrives, once per content (its SHA-256: the same bytes twice are one
-- row), and each channel's handle for them is cached beside them
-- (Telegram's file_id once Telegram has it), so a photo that came in on one
-- channel reaches a person on another: uploaded, or served by a link.
CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    -- NULL with no content: a photo kept before this migration, known only
    -- by a channel's handle (it still reaches people on that channel).
    sha256 TEXT UNIQUE,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    content BLOB,
    created_at TEXT NOT NULL,
    CHECK ((sha256 IS NULL) = (content IS NULL))
);

-- A channel's handle for a media row; one media may have several (Telegram
-- gives the same bytes new file ids), a handle names one media.
CREATE TABLE media_refs (
    channel TEXT NOT NULL,
    ref TEXT NOT NULL,
    media_id INTEGER NOT NULL REFERENCES media (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, ref)
);
CREATE INDEX media_refs_media ON media_refs (media_id, channel);

-- The photos kept so far were a channel's file ids: each distinct one
-- becomes a media row without bytes (numbered after its first photo row)
-- with that id as its handle.  ('forgotten': erased by /forget, kept as none.)
INSERT INTO media (id, mime, created_at)
SELECT MIN(p.id), 'image/jpeg', MIN(c.created_at)
FROM complaint_photos p JOIN complaints c ON c.id = p.complaint_id
WHERE p.file_ref <> 'forgotten'
GROUP BY p.channel, p.file_ref;

INSERT INTO media_refs (channel, ref, media_id, created_at)
SELECT p.channel, p.file_ref, MIN(p.id), MIN(c.created_at)
FROM complaint_photos p JOIN complaints c ON c.id = p.complaint_id
WHERE p.file_ref <> 'forgotten'
GROUP BY p.channel, p.file_ref;

-- A complaint's photos reference media (NULL: erased by /forget).
CREATE TABLE complaint_photos_media (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    kind TEXT NOT NULL CHECK (kind IN ('report', 'resolution', 'dispute', 'info')),
    media_id INTEGER REFERENCES media (id),
    position INTEGER NOT NULL,
    superseded_at TEXT
);

INSERT INTO complaint_photos_media (id, complaint_id, kind, media_id, position, superseded_at)
SELECT p.id, p.complaint_id, p.kind,
       (SELECT r.media_id FROM media_refs r WHERE r.channel = p.channel AND r.ref = p.file_ref),
       p.position, p.superseded_at
FROM complaint_photos p;

DROP TABLE complaint_photos;
ALTER TABLE complaint_photos_media RENAME TO complaint_photos;
CREATE INDEX complaint_photos_complaint ON complaint_photos (complaint_id);
CREATE INDEX complaint_photos_media ON complaint_photos (media_id);
