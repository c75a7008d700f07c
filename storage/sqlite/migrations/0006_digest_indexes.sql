-- The whole city's medians over a long period (the year to date in every
-- weekly digest) would sort a third of the table for one middle value.  These
-- keep the durations themselves in order (in days, as julianday differences:
-- storage/digest.py orders by the very same expressions), so the median is
-- found by walking an index half-way, with the period and the ward checked
-- from the index on the way and nothing sorted.
CREATE INDEX complaints_ack_days ON complaints
    ((julianday(acknowledged_at) - julianday(created_at)), acknowledged_at, ward, created_at)
    WHERE acknowledged_at IS NOT NULL;
CREATE INDEX complaints_fix_days ON complaints
    ((julianday(resolved_at) - julianday(created_at)), resolved_at, state, ward, created_at)
    WHERE resolved_at IS NOT NULL;

-- The standing resolutions of a period, counted from the index alone (the
-- year's for its median, and each week's on-time ones for the digest's
-- chart): the time-first resolutions index of 0005 carries what those
-- conditions read.
DROP INDEX complaints_resolved_ward;
CREATE INDEX complaints_resolved_ward_state ON complaints
    (resolved_at, ward, state, due_at, paused_since)
    WHERE resolved_at IS NOT NULL;
