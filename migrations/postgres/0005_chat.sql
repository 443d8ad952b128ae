-- Live chat (DESIGN.md "Data", "Chat"). Sessions flow pending → active →
-- ended; every message has a gap-free per-session seq; a client's
-- client_msg_id makes a resend store nothing new. Times are Unix ms.
CREATE TABLE chat_sessions (
    id                TEXT   PRIMARY KEY,
    account           TEXT   NOT NULL,
    agent_id          BIGINT,
    agent             TEXT,
    status            TEXT   NOT NULL CHECK (status IN ('pending', 'active', 'ended')),
    is_important      BIGINT NOT NULL DEFAULT 0,
    last_seq          BIGINT NOT NULL DEFAULT 0,
    staff_unread      BIGINT NOT NULL DEFAULT 0,
    player_unread     BIGINT NOT NULL DEFAULT 0,
    last_message      TEXT   NOT NULL DEFAULT '',
    last_message_at   BIGINT,
    created_at        BIGINT NOT NULL,
    accepted_at       BIGINT,
    first_response_at BIGINT,
    ended_at          BIGINT
);
-- At most one open (pending or active) chat per player.
CREATE UNIQUE INDEX chat_sessions_open ON chat_sessions (account) WHERE status <> 'ended';
CREATE INDEX chat_sessions_account ON chat_sessions (account, created_at);
CREATE INDEX chat_sessions_status ON chat_sessions (status, created_at);
CREATE INDEX chat_sessions_agent ON chat_sessions (agent_id, status);

CREATE TABLE chat_messages (
    id            TEXT   PRIMARY KEY,
    session_id    TEXT   NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    sender_type   TEXT   NOT NULL CHECK (sender_type IN ('user', 'customer_service', 'system')),
    sender        TEXT   NOT NULL,
    content       TEXT   NOT NULL,
    content_type  TEXT   NOT NULL,
    client_msg_id TEXT,
    sent_at       BIGINT NOT NULL,
    is_read       BIGINT NOT NULL DEFAULT 0,
    UNIQUE (session_id, seq),
    UNIQUE (session_id, sender, client_msg_id)
);

CREATE TABLE agent_presence (
    staff_id    BIGINT PRIMARY KEY,
    status      TEXT   NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'busy', 'away', 'offline')),
    auto_accept BIGINT NOT NULL DEFAULT 0,
    capacity    BIGINT NOT NULL DEFAULT 5,
    last_active BIGINT
);
