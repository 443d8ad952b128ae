-- The player list filtered by server (the most selective filter staff use)
-- and sorted by registration: the page walks the first index in order, and
-- the total counts from the second without reading table rows.
CREATE INDEX players_server_register ON players (server_name, register_at);
CREATE INDEX players_server_open_level ON players (server_name, is_open, membership_level);
