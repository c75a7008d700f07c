-- Where a resident may turn when the ward rejects a report as not in its
-- remit (issue 14 §3): a text per ward, from the org chart's `refer_to:`.
-- Empty: the catalogue's general advice.
ALTER TABLE ward_policies ADD COLUMN refer_to TEXT NOT NULL DEFAULT '';
