-- Substring search for the player list's `keyword` (account, real_account,
-- main_account, contact, remarks): a pg_trgm GIN index on the lower-cased
-- fields joined by a separator; `LIKE '%…%'` on the same expression uses it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX players_keyword_trgm ON players USING gin (
    (lower(account || ' | ' || real_account || ' | ' || main_account || ' | ' || contact || ' | ' || remarks)) gin_trgm_ops
);
