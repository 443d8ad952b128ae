-- When a chat last joined the queue: its creation, or the player's message
-- that reopened it. The desk shows how long a player has waited from here,
-- and auto-accept hands out the longest wait first. NULL (chats from before
-- this column) reads as created_at.
ALTER TABLE chat_sessions ADD COLUMN queued_at BIGINT;
