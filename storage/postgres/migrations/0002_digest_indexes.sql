-- The weekly digest's aggregates (storage/postgres/digest.py) find the
-- complaints a period touches through these: received in it, resolved,
-- closed or acknowledged since its start, open now, disputed in it.  Each
-- is (ward, instant): one ward's digest reads its own rows; the whole city's
-- reads the period's rows in time order through the time-first ones.
CREATE INDEX complaints_ward_created ON complaints (ward, created_at);
CREATE INDEX complaints_ward_resolved ON complaints (ward, resolved_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX complaints_ward_closed ON complaints (ward, closed_at)
    WHERE closed_at IS NOT NULL;
CREATE INDEX complaints_ward_acknowledged ON complaints (ward, acknowledged_at)
    WHERE acknowledged_at IS NOT NULL;
CREATE INDEX complaints_created ON complaints (created_at);
CREATE INDEX complaints_resolved ON complaints (resolved_at) WHERE resolved_at IS NOT NULL;
-- Disputes ("not fixed") of a period, for the satisfaction line.
CREATE INDEX complaint_events_action_at ON complaint_events (action, at);
