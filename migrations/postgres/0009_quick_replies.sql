-- Quick replies (快捷回复) for the desk: a staff member's own (staff_id
-- set), or the whole team's (staff_id NULL, kept by admins). A person's
-- own go with them.
CREATE TABLE quick_replies (
    id         BIGSERIAL PRIMARY KEY,
    staff_id   BIGINT REFERENCES staff (id) ON DELETE CASCADE,
    content    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX quick_replies_staff ON quick_replies (staff_id, id);
