-- Photos are the project's own (SQLite's migration 0013).  A photo's bytes
-- are kept when it arrives, once per content (its SHA-256, in hex: the same
-- bytes twice are one row), and each channel's handle for them is cached
-- beside them (Telegram's file_id once Telegram has it), so a photo that
-- came in on one channel reaches a person on another.
--
-- The bytes are a bytea column, not large objects: a photo is a few hundred
-- kilobytes (well under bytea's 1 GB), a row and its bytes are written and
-- erased in one transaction (/forget deletes the row and the bytes go with
-- it; a large object would outlive its row until someone ran lo_unlink or
-- vacuumlo), and pg_dump's --data-only backup and the checked restore carry
-- them as table data like every other column.  JPEG and PNG do not
-- compress: the column is stored out of line without trying (EXTERNAL).
CREATE TABLE media (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL with no content: a photo kept before this migration, known only
    -- by a channel's handle (it still reaches people on that channel).
    sha256 text UNIQUE,
    mime text NOT NULL,
    size integer NOT NULL DEFAULT 0,
    content bytea,
    created_at timestamptz NOT NULL,
    CHECK ((sha256 IS NULL) = (content IS NULL))
);
ALTER TABLE media ALTER COLUMN content SET STORAGE EXTERNAL;

-- A channel's handle for a media row; one media may have several (Telegram
-- gives the same bytes new file ids), a handle names one media; the newest
-- (``ordinal``, as SQLite's rowid there) is the one used.
CREATE TABLE media_refs (
    channel text NOT NULL,
    ref text NOT NULL,
    media_id bigint NOT NULL REFERENCES media (id),
    created_at timestamptz NOT NULL,
    ordinal bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (channel, ref)
);
CREATE INDEX media_refs_media ON media_refs (media_id, channel);

-- The photos kept so far were a channel's file ids: each distinct one
-- becomes a media row without bytes (numbered after its first photo row)
-- with that id as its handle.  ('forgotten': erased by /forget, kept as none.)
INSERT INTO media (id, mime, created_at) OVERRIDING SYSTEM VALUE
SELECT MIN(p.id), 'image/jpeg', MIN(c.created_at)
FROM complaint_photos p JOIN complaints c ON c.id = p.complaint_id
WHERE p.file_ref <> 'forgotten'
GROUP BY p.channel, p.file_ref;
SELECT setval(pg_get_serial_sequence('media', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM media;

INSERT INTO media_refs (channel, ref, media_id, created_at)
SELECT p.channel, p.file_ref, MIN(p.id), MIN(c.created_at)
FROM complaint_photos p JOIN complaints c ON c.id = p.complaint_id
WHERE p.file_ref <> 'forgotten'
GROUP BY p.channel, p.file_ref
ORDER BY MIN(p.id);

-- A complaint's photos reference media (NULL: erased by /forget).
ALTER TABLE complaint_photos ADD COLUMN media_id bigint REFERENCES media (id);
UPDATE complaint_photos p SET media_id = r.media_id
FROM media_refs r WHERE r.channel = p.channel AND r.ref = p.file_ref;
ALTER TABLE complaint_photos DROP COLUMN channel, DROP COLUMN file_ref;
CREATE INDEX complaint_photos_media ON complaint_photos (media_id);
