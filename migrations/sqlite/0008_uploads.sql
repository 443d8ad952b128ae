-- Images sent in chat (API.md: an image message's content is an upload
-- id). The bytes live here rather than in files beside the database so an
-- upload and its row are one transaction, a backup of the database holds
-- them, and several servers over one PostgreSQL need no shared disk.
CREATE TABLE uploads (
    id            TEXT   PRIMARY KEY,
    uploader_type TEXT   NOT NULL CHECK (uploader_type IN ('user', 'customer_service')),
    uploader      TEXT   NOT NULL,
    content_type  TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    bytes         BLOB  NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX uploads_uploader ON uploads (uploader_type, uploader, created_at);
