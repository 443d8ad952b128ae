-- Players (seed 000 appendix A), the recharge ledger, membership transfers
-- and the audit log (DESIGN.md "Data"). Times are Unix milliseconds, money
-- is fen. The ledger keeps rows of deleted players: revenue stays exact.
CREATE TABLE players (
    account              TEXT   PRIMARY KEY,
    real_account         TEXT   NOT NULL DEFAULT '',
    main_account         TEXT   NOT NULL DEFAULT '',
    contact              TEXT   NOT NULL DEFAULT '',
    server_name          TEXT   NOT NULL DEFAULT '',
    server_info          TEXT   NOT NULL DEFAULT '',
    membership_level     BIGINT NOT NULL DEFAULT 0,
    membership_pay_fen   BIGINT NOT NULL DEFAULT 0,
    membership_expire_at BIGINT,
    game_platform        BIGINT NOT NULL DEFAULT -1,
    auxiliary_online     BIGINT NOT NULL DEFAULT 0,
    is_open              BIGINT NOT NULL DEFAULT 1,
    register_at          BIGINT NOT NULL,
    remarks              TEXT   NOT NULL DEFAULT '',
    websocket_url        TEXT   NOT NULL DEFAULT '',
    game_web_url         TEXT   NOT NULL DEFAULT '',
    user_login_data      TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX players_register_at ON players (register_at);
CREATE INDEX players_expire_at ON players (membership_expire_at);
CREATE INDEX players_pay ON players (membership_pay_fen);
CREATE INDEX players_server_name ON players (server_name);
CREATE INDEX players_platform ON players (game_platform, register_at);
CREATE INDEX players_level ON players (membership_level, register_at);

CREATE TABLE recharges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account       TEXT   NOT NULL,
    amount_fen    BIGINT NOT NULL,
    days          BIGINT NOT NULL,
    level         BIGINT,
    agent         TEXT   NOT NULL,
    remark        TEXT   NOT NULL DEFAULT '',
    is_gift       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    created_by    TEXT,
    new_expire_at BIGINT NOT NULL
);
CREATE INDEX recharges_account ON recharges (account, created_at);
CREATE INDEX recharges_created_at ON recharges (created_at);

CREATE TABLE membership_transfers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    source     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    days       BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX membership_transfers_source ON membership_transfers (source);
CREATE INDEX membership_transfers_target ON membership_transfers (target);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   BIGINT,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    detail     TEXT   NOT NULL DEFAULT '',
    ip         TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_created_at ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor, created_at);
