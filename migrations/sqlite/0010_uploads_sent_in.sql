-- The chat an upload was sent in. An upload belongs to one chat: clearing
-- that chat's history deletes it, and so does deleting the chat. Uploads
-- never sent (a picture picked and abandoned) are deleted a day after they
-- were made; the partial index keeps that sweep off the image bytes.
ALTER TABLE uploads ADD COLUMN sent_in TEXT REFERENCES chat_sessions (id) ON DELETE CASCADE;
UPDATE uploads SET sent_in = m.session_id
    FROM chat_messages m
    WHERE m.content_type = 'image' AND m.content = uploads.id;
CREATE INDEX uploads_unsent ON uploads (created_at) WHERE sent_in IS NULL;
CREATE INDEX uploads_sent_in ON uploads (sent_in) WHERE sent_in IS NOT NULL;
