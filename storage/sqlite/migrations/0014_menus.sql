-- Issue 13: a channel without buttons (Zalo) shows a notice's choices as a
-- numbered list, and a person answers with a bare number later — often
-- much later, after other messages.  Each person's last list is kept here,
-- so "2" acts on the complaint that list was about, across restarts.
-- ``items``: the choices in order, as JSON; ``over_prompt``: the list came
-- after the question of a conversation under way (a number then means the
-- list, not the question).  One row per person; /forget deletes it.
CREATE TABLE menus (
    person_id INTEGER PRIMARY KEY REFERENCES people (id),
    channel TEXT NOT NULL,
    items TEXT NOT NULL,
    over_prompt INTEGER NOT NULL DEFAULT 1,
    shown_at TEXT NOT NULL
);
