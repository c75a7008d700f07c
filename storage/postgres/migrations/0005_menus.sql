-- SQLite's 0014: each person's last numbered list, for a channel without
-- buttons (Zalo), so that a bare "2" typed later acts on what that list
-- offered, across restarts.  ``items`` is the choices in order (jsonb);
-- ``over_prompt``: the list came after the question of a conversation under
-- way.  One row per person; /forget deletes it.
CREATE TABLE menus (
    person_id BIGINT PRIMARY KEY REFERENCES people (id),
    channel TEXT NOT NULL,
    items JSONB NOT NULL,
    over_prompt BOOLEAN NOT NULL DEFAULT TRUE,
    shown_at TIMESTAMPTZ NOT NULL
);
