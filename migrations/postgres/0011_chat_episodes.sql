-- The chat figures count conversations ("episodes"), not chat rows: a chat
-- its player writes to after it ended is reopened, and what follows is a
-- conversation of its own, from joining the queue again to its end.
-- chat_sessions keeps the episode going on (episode_at: when it began; NULL
-- for a chat never reopened, whose one episode began at created_at). A
-- reopening moves the ended episode into chat_episodes in the same
-- transaction, so the figures of days gone by never change afterwards.
ALTER TABLE chat_sessions ADD COLUMN episode_at BIGINT;

CREATE TABLE chat_episodes (
    session_id        TEXT   NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    started_at        BIGINT NOT NULL,
    agent_id          BIGINT,
    agent             TEXT,
    accepted_at       BIGINT,
    first_response_at BIGINT,
    ended_at          BIGINT NOT NULL
);
CREATE INDEX chat_episodes_started ON chat_episodes
    (started_at, agent_id, accepted_at, ended_at, first_response_at);

-- The figures read each part from an index alone: chats never reopened by
-- creation (the old index, now partial; episode_at in it so that SQLite
-- needs no row to check it), reopened ones by episode_at.
DROP INDEX chat_sessions_created;
CREATE INDEX chat_sessions_created ON chat_sessions
    (created_at, agent_id, status, accepted_at, ended_at, first_response_at, episode_at)
    WHERE episode_at IS NULL;
CREATE INDEX chat_sessions_episode ON chat_sessions
    (episode_at, agent_id, status, accepted_at, ended_at, first_response_at)
    WHERE episode_at IS NOT NULL;
