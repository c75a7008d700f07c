-- Who changed the ward's set-up from the command line, and when: org chart
-- imports, staff deactivations, the abuse list (`phananh history` prints it).
-- ``actor`` is the operator as `phananh` recorded them: the OS user, or the
-- name given with --by.  A person on the abuse list is kept by their number,
-- not their account, so a /forget leaves nothing here that names them.
-- Append-only, as complaint_events.
CREATE TABLE admin_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,            -- org_import, staff_deactivate, people_block, people_unblock
    subject TEXT NOT NULL DEFAULT '',  -- the staff id, or the org file imported
    person_id INTEGER,               -- people_block, people_unblock: who
    detail TEXT NOT NULL DEFAULT '{}'  -- JSON: the complaints moved, the reason …
);
CREATE TRIGGER admin_log_no_update BEFORE UPDATE ON admin_log
BEGIN
    SELECT RAISE(ABORT, 'admin_log is append-only');
END;
CREATE TRIGGER admin_log_no_delete BEFORE DELETE ON admin_log
BEGIN
    SELECT RAISE(ABORT, 'admin_log is append-only');
END;
