-- Substring search for the player list's `keyword` (account, real_account,
-- main_account, contact, remarks): an FTS5 trigram index kept in step with
-- `players` by triggers. Keywords of 3+ characters use it; shorter ones scan.
CREATE VIRTUAL TABLE players_fts USING fts5(
    account, real_account, main_account, contact, remarks,
    content = 'players', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO players_fts (players_fts) VALUES ('rebuild');

CREATE TRIGGER players_fts_insert AFTER INSERT ON players BEGIN
    INSERT INTO players_fts (rowid, account, real_account, main_account, contact, remarks)
    VALUES (new.rowid, new.account, new.real_account, new.main_account, new.contact, new.remarks);
END;
CREATE TRIGGER players_fts_delete AFTER DELETE ON players BEGIN
    INSERT INTO players_fts (players_fts, rowid, account, real_account, main_account, contact, remarks)
    VALUES ('delete', old.rowid, old.account, old.real_account, old.main_account, old.contact, old.remarks);
END;
CREATE TRIGGER players_fts_update AFTER UPDATE ON players BEGIN
    INSERT INTO players_fts (players_fts, rowid, account, real_account, main_account, contact, remarks)
    VALUES ('delete', old.rowid, old.account, old.real_account, old.main_account, old.contact, old.remarks);
    INSERT INTO players_fts (rowid, account, real_account, main_account, contact, remarks)
    VALUES (new.rowid, new.account, new.real_account, new.main_account, new.contact, new.remarks);
END;
