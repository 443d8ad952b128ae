#!/usr/bin/env python3
"""A replica of the chat writer's commits on SQLite, to see what the WAL's
checkpointing costs a commit (BENCHMARKS.md, "Chat load", third part).

One connection commits one UPDATE of a chat and one INSERT of a message per
transaction, at a fixed rate over 2,000 chats, with Kefu's schema
(migrations/sqlite/0005_chat.sql) and pragmas (WAL, synchronous NORMAL, no
automatic checkpoint). A second connection checkpoints (PASSIVE) once a
second, as Kefu's background task does. Prints the commit latency.

    python3 scripts/wal_replica.py MODE [COMMITS]

MODE: `grow` (PASSIVE only: the log is never emptied), `truncate` (past
LIMIT_MB, a TRUNCATE checkpoint: what Kefu does), `restart` (past LIMIT_MB,
a FULL checkpoint and journal_size_limit = LIMIT_MB: the log starts over at
the head of the old file). LIMIT_MB defaults to 256 (Kefu: 1024).
"""
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid

mode = sys.argv[1]
commits = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
limit = int(os.environ.get("LIMIT_MB", "256")) << 20
here = os.path.dirname(os.path.abspath(__file__))
schema = open(os.path.join(here, "..", "migrations", "sqlite", "0005_chat.sql")).read()

db = os.path.join(tempfile.mkdtemp(prefix="wal-replica-"), "t.db")
c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "wal_autocheckpoint = 0"):
    c.execute(f"PRAGMA {pragma}")
if mode == "restart":
    c.execute(f"PRAGMA journal_size_limit = {limit}")
c.executescript(schema)
chats = [str(uuid.uuid4()) for _ in range(2000)]
c.execute("BEGIN")
for i, s in enumerate(chats):
    c.execute(
        "INSERT INTO chat_sessions (id, account, status, created_at) VALUES (?, ?, 'active', 0)",
        (s, f"p{i}"),
    )
c.execute("COMMIT")

stop = False
pauses = []


def checkpoint():
    k = sqlite3.connect(db, isolation_level=None)
    page = k.execute("PRAGMA page_size").fetchone()[0]
    while not stop:
        time.sleep(1)
        _, frames, _ = k.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if mode != "grow" and frames * page > limit:
            t = time.perf_counter()
            kind = "TRUNCATE" if mode == "truncate" else "FULL"
            k.execute(f"PRAGMA wal_checkpoint({kind})").fetchone()
            pauses.append((time.perf_counter() - t) * 1e3)


threading.Thread(target=checkpoint, daemon=True).start()
lat = []
t0 = time.perf_counter()
for n in range(commits):
    while time.perf_counter() < t0 + n / 1000:
        pass
    s = random.choice(chats)
    a = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    seq = c.execute(
        "UPDATE chat_sessions SET last_seq = last_seq + 1, last_message = ?, last_message_at = ?,"
        " staff_unread = staff_unread + 1 WHERE id = ? RETURNING last_seq",
        (f"hello {n}", n, s),
    ).fetchone()[0]
    c.execute(
        "INSERT INTO chat_messages (id, session_id, seq, sender_type, sender, content,"
        " content_type, client_msg_id, sent_at) VALUES (?, ?, ?, 'user', 'p', ?, 'text', ?, ?)",
        (str(uuid.uuid4()), s, seq, f"hello {n}", str(uuid.uuid4()), n),
    )
    c.execute("COMMIT")
    lat.append((time.perf_counter() - a) * 1e3)
stop = True
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(len(lat) * f))]
print(
    f"{mode}: {commits} commits, p50 {q(0.5):.3f} p99 {q(0.99):.3f} p99.9 {q(0.999):.3f}"
    f" max {lat[-1]:.3f} ms; log now {os.path.getsize(db + '-wal') >> 20} MiB;"
    f" checkpoint pauses (ms) {[round(p, 1) for p in pauses]}"
)
