-- Rollups that keep the analytics exact at any size (issue #6, DESIGN.md
-- "Definitions the analytics use"). Triggers keep them in step with every
-- write to `players` and `recharges`, whatever code path makes it, and the
-- migration fills them from the rows already there. The SQLite migration
-- of the same number explains each column. Kefu never changes an account
-- (the players' primary key), so the old and new rows of an UPDATE pair up
-- by it.
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

-- Statement-level triggers over transition tables: a bulk insert updates
-- each bucket once, not once per row.
CREATE FUNCTION players_analytics() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_buckets (bucket, registered, lapsed)
        SELECT bucket, SUM(r), SUM(l) FROM (
            SELECT register_at / 900000 AS bucket, 1 AS r, 0 AS l FROM new_rows
            UNION ALL
            SELECT (CASE WHEN membership_expire_at > register_at THEN membership_expire_at
                         ELSE register_at END) / 900000, 0, 1 FROM new_rows
        ) AS t GROUP BY bucket
        ON CONFLICT (bucket) DO UPDATE SET
            registered = analytics_buckets.registered + EXCLUDED.registered,
            lapsed = analytics_buckets.lapsed + EXCLUDED.lapsed;
        INSERT INTO server_counts (server_name, players)
        SELECT server_name, COUNT(*) FROM new_rows GROUP BY server_name
        ON CONFLICT (server_name) DO UPDATE SET players = server_counts.players + EXCLUDED.players;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_buckets (bucket, registered, lapsed)
        SELECT bucket, SUM(r), SUM(l) FROM (
            SELECT register_at / 900000 AS bucket, -1 AS r, 0 AS l FROM old_rows
            UNION ALL
            SELECT (CASE WHEN membership_expire_at > register_at THEN membership_expire_at
                         ELSE register_at END) / 900000, 0, -1 FROM old_rows
        ) AS t GROUP BY bucket
        ON CONFLICT (bucket) DO UPDATE SET
            registered = analytics_buckets.registered + EXCLUDED.registered,
            lapsed = analytics_buckets.lapsed + EXCLUDED.lapsed;
        INSERT INTO server_counts (server_name, players)
        SELECT server_name, -COUNT(*) FROM old_rows GROUP BY server_name
        ON CONFLICT (server_name) DO UPDATE SET players = server_counts.players + EXCLUDED.players;
    ELSE
        -- Old rows out, new rows in; rows whose times and server did not
        -- change cancel out and are left alone.
        INSERT INTO analytics_buckets (bucket, registered, lapsed)
        SELECT bucket, SUM(r), SUM(l) FROM (
            SELECT o.register_at / 900000 AS bucket, -1 AS r, 0 AS l
              FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.register_at IS DISTINCT FROM n.register_at
                OR o.membership_expire_at IS DISTINCT FROM n.membership_expire_at
            UNION ALL
            SELECT (CASE WHEN o.membership_expire_at > o.register_at THEN o.membership_expire_at
                         ELSE o.register_at END) / 900000, 0, -1
              FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.register_at IS DISTINCT FROM n.register_at
                OR o.membership_expire_at IS DISTINCT FROM n.membership_expire_at
            UNION ALL
            SELECT n.register_at / 900000, 1, 0
              FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.register_at IS DISTINCT FROM n.register_at
                OR o.membership_expire_at IS DISTINCT FROM n.membership_expire_at
            UNION ALL
            SELECT (CASE WHEN n.membership_expire_at > n.register_at THEN n.membership_expire_at
                         ELSE n.register_at END) / 900000, 0, 1
              FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.register_at IS DISTINCT FROM n.register_at
                OR o.membership_expire_at IS DISTINCT FROM n.membership_expire_at
        ) AS t GROUP BY bucket
        ON CONFLICT (bucket) DO UPDATE SET
            registered = analytics_buckets.registered + EXCLUDED.registered,
            lapsed = analytics_buckets.lapsed + EXCLUDED.lapsed;
        INSERT INTO server_counts (server_name, players)
        SELECT server_name, SUM(d) FROM (
            SELECT o.server_name, -1 AS d FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.server_name IS DISTINCT FROM n.server_name
            UNION ALL
            SELECT n.server_name, 1 FROM old_rows o JOIN new_rows n ON n.account = o.account
             WHERE o.server_name IS DISTINCT FROM n.server_name
        ) AS t GROUP BY server_name
        ON CONFLICT (server_name) DO UPDATE SET players = server_counts.players + EXCLUDED.players;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER players_analytics_insert AFTER INSERT ON players
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION players_analytics();
CREATE TRIGGER players_analytics_delete AFTER DELETE ON players
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION players_analytics();
CREATE TRIGGER players_analytics_update AFTER UPDATE ON players
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION players_analytics();

CREATE FUNCTION recharges_analytics() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_buckets (bucket, revenue_fen)
        SELECT created_at / 900000, SUM(amount_fen) FROM new_rows WHERE is_gift = 0
        GROUP BY created_at / 900000
        ON CONFLICT (bucket) DO UPDATE SET
            revenue_fen = analytics_buckets.revenue_fen + EXCLUDED.revenue_fen;
        INSERT INTO player_payments (account, paid_fen, last_paid_at)
        SELECT account, SUM(amount_fen), MAX(created_at) FROM new_rows WHERE is_gift = 0
        GROUP BY account
        ON CONFLICT (account) DO UPDATE SET
            paid_fen = player_payments.paid_fen + EXCLUDED.paid_fen,
            last_paid_at = GREATEST(player_payments.last_paid_at, EXCLUDED.last_paid_at);
    ELSE
        -- The ledger is append-only; should a row ever go, the rollups follow.
        INSERT INTO analytics_buckets (bucket, revenue_fen)
        SELECT created_at / 900000, -SUM(amount_fen) FROM old_rows WHERE is_gift = 0
        GROUP BY created_at / 900000
        ON CONFLICT (bucket) DO UPDATE SET
            revenue_fen = analytics_buckets.revenue_fen + EXCLUDED.revenue_fen;
        UPDATE player_payments p SET paid_fen = p.paid_fen - d.fen
          FROM (SELECT account, SUM(amount_fen) AS fen FROM old_rows WHERE is_gift = 0
                GROUP BY account) AS d
         WHERE p.account = d.account;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER recharges_analytics_insert AFTER INSERT ON recharges
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recharges_analytics();
CREATE TRIGGER recharges_analytics_delete AFTER DELETE ON recharges
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION recharges_analytics();

-- The chat figures read the chats created in a window from this index
-- alone. A message changes none of these columns but an agent's first
-- reply (first_response_at), so the chat's writes rarely touch it.
CREATE INDEX chat_sessions_created ON chat_sessions
    (created_at, agent_id, agent, status, accepted_at, ended_at, first_response_at);
