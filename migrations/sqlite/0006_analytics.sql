-- Rollups that keep the analytics exact at any size (issue #6, DESIGN.md
-- "Definitions the analytics use"). Triggers keep them in step with every
-- write to `players` and `recharges`, whatever code path makes it, and the
-- migration fills them from the rows already there.
--
-- analytics_buckets: one row per 15-minute UTC bucket (ms / 900000) that has
-- something in it. Every business day of every time zone in use today starts
-- on a bucket boundary, so a sum of whole buckets is a sum of whole days.
--   registered  players whose register_at falls in the bucket
--   lapsed      players whose "member until" moment falls in the bucket: the
--               later of register_at and membership_expire_at (register_at
--               when there is no expiry). Players registered before T minus
--               players lapsed before T = players registered before T whose
--               membership lasts at least until T.
--   revenue_fen non-gift recharges made in the bucket (the ledger is
--               append-only; revenue is never read from players)
CREATE TABLE analytics_buckets (
    bucket      BIGINT PRIMARY KEY,
    registered  BIGINT NOT NULL DEFAULT 0,
    lapsed      BIGINT NOT NULL DEFAULT 0,
    revenue_fen BIGINT NOT NULL DEFAULT 0
);

-- Players per server name ('' = no server).
CREATE TABLE server_counts (
    server_name TEXT   PRIMARY KEY,
    players     BIGINT NOT NULL DEFAULT 0
);

-- Each account's non-gift payments in the ledger (kept for deleted players
-- too, as the ledger is; the high-value list joins the players that exist).
CREATE TABLE player_payments (
    account      TEXT   PRIMARY KEY,
    paid_fen     BIGINT NOT NULL DEFAULT 0,
    last_paid_at BIGINT NOT NULL
);
CREATE INDEX player_payments_rank ON player_payments (paid_fen DESC, account);

INSERT INTO analytics_buckets (bucket, registered, lapsed, revenue_fen)
SELECT bucket, SUM(r), SUM(l), SUM(v) FROM (
    SELECT register_at / 900000 AS bucket, 1 AS r, 0 AS l, 0 AS v FROM players
    UNION ALL
    SELECT (CASE WHEN membership_expire_at > register_at THEN membership_expire_at
                 ELSE register_at END) / 900000, 0, 1, 0 FROM players
    UNION ALL
    SELECT created_at / 900000, 0, 0, amount_fen FROM recharges WHERE is_gift = 0
) AS t GROUP BY bucket;

INSERT INTO server_counts (server_name, players)
SELECT server_name, COUNT(*) FROM players GROUP BY server_name;

INSERT INTO player_payments (account, paid_fen, last_paid_at)
SELECT account, SUM(amount_fen), MAX(created_at) FROM recharges WHERE is_gift = 0 GROUP BY account;

CREATE TRIGGER players_analytics_insert AFTER INSERT ON players BEGIN
    INSERT INTO analytics_buckets (bucket, registered) VALUES (NEW.register_at / 900000, 1)
        ON CONFLICT (bucket) DO UPDATE SET registered = registered + 1;
    INSERT INTO analytics_buckets (bucket, lapsed)
        VALUES ((CASE WHEN NEW.membership_expire_at > NEW.register_at
                      THEN NEW.membership_expire_at ELSE NEW.register_at END) / 900000, 1)
        ON CONFLICT (bucket) DO UPDATE SET lapsed = lapsed + 1;
    INSERT INTO server_counts (server_name, players) VALUES (NEW.server_name, 1)
        ON CONFLICT (server_name) DO UPDATE SET players = players + 1;
END;

CREATE TRIGGER players_analytics_delete AFTER DELETE ON players BEGIN
    UPDATE analytics_buckets SET registered = registered - 1
        WHERE bucket = OLD.register_at / 900000;
    UPDATE analytics_buckets SET lapsed = lapsed - 1
        WHERE bucket = (CASE WHEN OLD.membership_expire_at > OLD.register_at
                             THEN OLD.membership_expire_at ELSE OLD.register_at END) / 900000;
    UPDATE server_counts SET players = players - 1 WHERE server_name = OLD.server_name;
END;

CREATE TRIGGER players_analytics_times AFTER UPDATE OF register_at, membership_expire_at ON players
WHEN OLD.register_at IS NOT NEW.register_at
  OR OLD.membership_expire_at IS NOT NEW.membership_expire_at
BEGIN
    UPDATE analytics_buckets SET registered = registered - 1
        WHERE bucket = OLD.register_at / 900000;
    UPDATE analytics_buckets SET lapsed = lapsed - 1
        WHERE bucket = (CASE WHEN OLD.membership_expire_at > OLD.register_at
                             THEN OLD.membership_expire_at ELSE OLD.register_at END) / 900000;
    INSERT INTO analytics_buckets (bucket, registered) VALUES (NEW.register_at / 900000, 1)
        ON CONFLICT (bucket) DO UPDATE SET registered = registered + 1;
    INSERT INTO analytics_buckets (bucket, lapsed)
        VALUES ((CASE WHEN NEW.membership_expire_at > NEW.register_at
                      THEN NEW.membership_expire_at ELSE NEW.register_at END) / 900000, 1)
        ON CONFLICT (bucket) DO UPDATE SET lapsed = lapsed + 1;
END;

CREATE TRIGGER players_analytics_server AFTER UPDATE OF server_name ON players
WHEN OLD.server_name IS NOT NEW.server_name
BEGIN
    UPDATE server_counts SET players = players - 1 WHERE server_name = OLD.server_name;
    INSERT INTO server_counts (server_name, players) VALUES (NEW.server_name, 1)
        ON CONFLICT (server_name) DO UPDATE SET players = players + 1;
END;

CREATE TRIGGER recharges_analytics_insert AFTER INSERT ON recharges WHEN NEW.is_gift = 0 BEGIN
    INSERT INTO analytics_buckets (bucket, revenue_fen) VALUES (NEW.created_at / 900000, NEW.amount_fen)
        ON CONFLICT (bucket) DO UPDATE SET revenue_fen = revenue_fen + NEW.amount_fen;
    INSERT INTO player_payments (account, paid_fen, last_paid_at)
        VALUES (NEW.account, NEW.amount_fen, NEW.created_at)
        ON CONFLICT (account) DO UPDATE SET paid_fen = paid_fen + NEW.amount_fen,
            last_paid_at = MAX(last_paid_at, NEW.created_at);
END;

-- The ledger is append-only; should a row ever go, the rollups follow.
CREATE TRIGGER recharges_analytics_delete AFTER DELETE ON recharges WHEN OLD.is_gift = 0 BEGIN
    UPDATE analytics_buckets SET revenue_fen = revenue_fen - OLD.amount_fen
        WHERE bucket = OLD.created_at / 900000;
    UPDATE player_payments SET paid_fen = paid_fen - OLD.amount_fen WHERE account = OLD.account;
END;

-- The chat figures read the chats created in a window from this index
-- alone. A message changes none of these columns but an agent's first
-- reply (first_response_at), so the chat's writes rarely touch it.
CREATE INDEX chat_sessions_created ON chat_sessions
    (created_at, agent_id, agent, status, accepted_at, ended_at, first_response_at);
