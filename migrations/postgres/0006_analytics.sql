-- Rollups that keep the analytics exact at any size (issue #6, DESIGN.md
-- "Definitions the analytics use"). Triggers keep them in step with every
-- write to `players` and `recharges`, whatever code path makes it, and the
-- migration fills them from the rows already there. The SQLite migration
-- of the same number explains each column.
CREATE TABLE analytics_buckets (
    bucket      BIGINT PRIMARY KEY,
    registered  BIGINT NOT NULL DEFAULT 0,
    lapsed      BIGINT NOT NULL DEFAULT 0,
    revenue_fen BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE server_counts (
    server_name TEXT   PRIMARY KEY,
    players     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE player_payments (
    account      TEXT   PRIMARY KEY,
    paid_fen     BIGINT NOT NULL DEFAULT 0,
    last_paid_at BIGINT NOT NULL
);
CREATE INDEX player_payments_rank ON player_payments (paid_fen DESC, account);

INSERT INTO analytics_buckets (bucket, registered, lapsed, revenue_fen)
SELECT bucket, SUM(r), SUM(l), SUM(v) FROM (
    SELECT register_at / 900000 AS bucket, 1 AS r, 0 AS l, 0::BIGINT AS v FROM players
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

CREATE FUNCTION analytics_bump(b BIGINT, r BIGINT, l BIGINT, v BIGINT) RETURNS void AS $$
    INSERT INTO analytics_buckets (bucket, registered, lapsed, revenue_fen) VALUES (b, r, l, v)
    ON CONFLICT (bucket) DO UPDATE SET
        registered  = analytics_buckets.registered + EXCLUDED.registered,
        lapsed      = analytics_buckets.lapsed + EXCLUDED.lapsed,
        revenue_fen = analytics_buckets.revenue_fen + EXCLUDED.revenue_fen;
$$ LANGUAGE sql;

CREATE FUNCTION server_bump(name TEXT, n BIGINT) RETURNS void AS $$
    INSERT INTO server_counts (server_name, players) VALUES (name, n)
    ON CONFLICT (server_name) DO UPDATE SET players = server_counts.players + EXCLUDED.players;
$$ LANGUAGE sql;

CREATE FUNCTION players_analytics() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.register_at IS DISTINCT FROM NEW.register_at
           OR OLD.membership_expire_at IS DISTINCT FROM NEW.membership_expire_at THEN
            PERFORM analytics_bump(OLD.register_at / 900000, -1, 0, 0);
            PERFORM analytics_bump((CASE WHEN OLD.membership_expire_at > OLD.register_at
                THEN OLD.membership_expire_at ELSE OLD.register_at END) / 900000, 0, -1, 0);
            PERFORM analytics_bump(NEW.register_at / 900000, 1, 0, 0);
            PERFORM analytics_bump((CASE WHEN NEW.membership_expire_at > NEW.register_at
                THEN NEW.membership_expire_at ELSE NEW.register_at END) / 900000, 0, 1, 0);
        END IF;
        IF OLD.server_name IS DISTINCT FROM NEW.server_name THEN
            PERFORM server_bump(OLD.server_name, -1);
            PERFORM server_bump(NEW.server_name, 1);
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM analytics_bump(NEW.register_at / 900000, 1, 0, 0);
        PERFORM analytics_bump((CASE WHEN NEW.membership_expire_at > NEW.register_at
            THEN NEW.membership_expire_at ELSE NEW.register_at END) / 900000, 0, 1, 0);
        PERFORM server_bump(NEW.server_name, 1);
    ELSE
        PERFORM analytics_bump(OLD.register_at / 900000, -1, 0, 0);
        PERFORM analytics_bump((CASE WHEN OLD.membership_expire_at > OLD.register_at
            THEN OLD.membership_expire_at ELSE OLD.register_at END) / 900000, 0, -1, 0);
        PERFORM server_bump(OLD.server_name, -1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER players_analytics
AFTER INSERT OR DELETE OR UPDATE OF register_at, membership_expire_at, server_name ON players
FOR EACH ROW EXECUTE FUNCTION players_analytics();

CREATE FUNCTION recharges_analytics() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM analytics_bump(NEW.created_at / 900000, 0, 0, NEW.amount_fen);
        INSERT INTO player_payments (account, paid_fen, last_paid_at)
        VALUES (NEW.account, NEW.amount_fen, NEW.created_at)
        ON CONFLICT (account) DO UPDATE SET
            paid_fen = player_payments.paid_fen + EXCLUDED.paid_fen,
            last_paid_at = GREATEST(player_payments.last_paid_at, EXCLUDED.last_paid_at);
    ELSE
        PERFORM analytics_bump(OLD.created_at / 900000, 0, 0, -OLD.amount_fen);
        UPDATE player_payments SET paid_fen = paid_fen - OLD.amount_fen WHERE account = OLD.account;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER recharges_analytics_insert AFTER INSERT ON recharges
FOR EACH ROW WHEN (NEW.is_gift = 0) EXECUTE FUNCTION recharges_analytics();
CREATE TRIGGER recharges_analytics_delete AFTER DELETE ON recharges
FOR EACH ROW WHEN (OLD.is_gift = 0) EXECUTE FUNCTION recharges_analytics();

-- The chat figures read the chats created in a window from this index
-- alone. A message changes none of these columns but an agent's first
-- reply (first_response_at), so the chat's writes rarely touch it.
CREATE INDEX chat_sessions_created ON chat_sessions
    (created_at, agent_id, agent, status, accepted_at, ended_at, first_response_at);
