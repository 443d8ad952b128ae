-- Staff accounts and revoked tokens (DESIGN.md "Data", "Auth").
CREATE TABLE staff (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT      NOT NULL UNIQUE,
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL CHECK (role IN ('super', 'admin', 'agent')),
    status        TEXT      NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    token_version BIGINT    NOT NULL DEFAULT 0,
    created_at    BIGINT    NOT NULL,
    last_login    BIGINT
);

CREATE TABLE revoked_tokens (
    jti        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
