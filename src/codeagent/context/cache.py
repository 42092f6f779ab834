"""The persistent tag cache: one SQLite file shared by every repo and every run.

    entries(root, path, size, mtime_ns, key, checked_ns)   what a path held when last seen
    records(key, record)                                   parsed record by content

A record's key is the blake2b digest of the file's bytes plus its language, so a
fresh worktree of the same commit (new root, new mtimes) reuses every parse after
hashing. A path's entry is trusted while size and mtime match and the mtime was
older than the moment we read the file by more than the racy window; otherwise
the content is hashed again ("when in doubt"). WAL plus a busy timeout make two
concurrent runs safe: both may parse the same file, and either write is right.
A cache that cannot be opened or read is moved aside and rebuilt.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

from codeagent.context.languages import QUERIES

log = logging.getLogger(__name__)

SCHEMA_VERSION = "6"  # bump whenever the record layout (tags.py) changes
RACY_NS = 2_000_000_000
BUSY_TIMEOUT_MS = 30_000


def _fingerprint() -> str:
    """Changes whenever the schema or a tag query changes (old records go stale)."""
    import hashlib

    text = SCHEMA_VERSION + "".join(QUERIES[k] for k in sorted(QUERIES))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class Entry(NamedTuple):
    """What a path held when last read (a tuple: thousands load per refresh)."""

    size: int
    mtime_ns: int
    key: str
    checked_ns: int

    def trusted_for(self, size: int, mtime_ns: int) -> bool:
        return size == self.size and mtime_ns == self.mtime_ns and self.checked_ns - mtime_ns > RACY_NS


class TagCache:
    """Entries and records in SQLite; every method is one short transaction."""

    def __init__(self, path: Path | None, *, recover_from: Exception | None = None):
        self.path = path
        self.note = ""
        if recover_from is not None and path is not None:
            self.db = self._recover(recover_from)
            return
        try:
            self.db = self._open(path)
        except sqlite3.DatabaseError as exc:
            if path is None:
                raise
            self.db = self._recover(exc)

    def _open(self, path: Path | None) -> sqlite3.Connection:
        if path is None:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        self._migrate(db)
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        fingerprint = _fingerprint()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
            if row is None or row[0] != fingerprint:
                db.execute("DROP TABLE IF EXISTS entries")
                db.execute("DROP TABLE IF EXISTS records")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries(root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER,"
                " mtime_ns INTEGER, key TEXT, checked_ns INTEGER, PRIMARY KEY(root, path))"
            )
            db.execute("CREATE TABLE IF NOT EXISTS records(key TEXT PRIMARY KEY, record BLOB)")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _recover(self, exc: Exception) -> sqlite3.Connection:
        """Move an unreadable cache aside and start a new one (in memory as a last resort)."""
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        self.note = f"tag cache {self.path} was unreadable ({exc}); moved to {aside.name} and rebuilt"
        log.warning(self.note)
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    os.replace(src, Path(str(aside) + suffix))
            return self._open(self.path)
        except (OSError, sqlite3.DatabaseError) as again:
            self.note += f"; could not rebuild on disk ({again}), using memory"
            return self._open(None)

    def entries(self, root: str) -> dict[str, Entry]:
        rows = self.db.execute("SELECT path, size, mtime_ns, key, checked_ns FROM entries WHERE root=?", (root,))
        return {row[0]: Entry._make(row[1:]) for row in rows}

    def records(self, root: str, paths: set[str] | None = None) -> dict[str, tuple[str, bytes]]:
        """path -> (key, record blob) for the root's entries whose record exists."""
        rows = self.db.execute(
            "SELECT e.path, e.key, r.record FROM entries e JOIN records r ON r.key = e.key WHERE e.root=?", (root,)
        )
        if paths is None:
            return {path: (key, blob) for path, key, blob in rows}
        return {path: (key, blob) for path, key, blob in rows if path in paths}

    def records_by_key(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT key, record FROM records WHERE key IN ({marks})", chunk))
        return found

    def write(self, root: str, entries: dict[str, Entry], records: dict[str, bytes], removed: list[str]) -> None:
        """Store new records and entries and forget removed paths, in one transaction."""
        if not (entries or records or removed):
            return
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", records.items())
            db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                ((root, p, e.size, e.mtime_ns, e.key, e.checked_ns) for p, e in entries.items()),
            )
            db.executemany("DELETE FROM entries WHERE root=? AND path=?", ((root, p) for p in removed))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def prune(self) -> int:
        """Forget roots that no longer exist and records no entry points to."""
        roots = [r for (r,) in self.db.execute("SELECT DISTINCT root FROM entries")]
        gone = [r for r in roots if not Path(r).is_dir()]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("DELETE FROM entries WHERE root=?", ((r,) for r in gone))
            cur = self.db.execute("DELETE FROM records WHERE key NOT IN (SELECT key FROM entries)")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return cur.rowcount

    def empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def counts(self) -> tuple[int, int]:
        entries = self.db.execute("SELECT count(*) FROM entries").fetchone()[0]
        records = self.db.execute("SELECT count(*) FROM records").fetchone()[0]
        return entries, records

    def close(self) -> None:
        self.db.close()
