"""The in-memory index of one repo, kept in step with the files on disk.

`RepoIndex.refresh()` lists the files, trusts a path's cached entry while its
size and mtime hold, hashes the content when in doubt, takes records by content
key from memory or the cache, and parses only what neither has (on every core).
Cheap when nothing changed: one `git ls-files` and one stat per file.
"""

from __future__ import annotations

import marshal
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from codeagent.context.cache import Entry, TagCache
from codeagent.context.files import Listing, parse_many, read_key
from codeagent.context.tags import RECORD_FIELDS, SKIPPED

DEFAULT_MAX_FILE_BYTES = 1_000_000
PRUNE_SLACK = 20_000
WRITE_BATCH = 256


@dataclass
class RefreshStats:
    """What one refresh did; logged by callers that care."""

    kind: str = "context_refresh"
    files: int = 0
    indexed: int = 0
    parsed: int = 0
    hashed: int = 0
    from_cache: int = 0
    removed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class RepoIndex:
    """Records (see tags.py) of every readable file of one repo root."""

    def __init__(self, root: Path, cache: TagCache, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, workers: int | None = None):
        self.root = root
        self.cache = cache
        self.max_file_bytes = max_file_bytes
        self.workers = workers
        self.records: dict[str, tuple] = {}  # path -> record, only indexed (not skipped) files
        self.version = 0  # bumps whenever records change
        self._keys: dict[str, str] = {}  # path -> content key of the record we hold
        self._entries: dict[str, Entry] | None = None
        self._skipped: dict[str, str] = {}
        self._listed: list[str] = []

    def refresh(self) -> RefreshStats:
        started = time.perf_counter()
        stats = RefreshStats()
        rootkey = str(self.root)
        listing = Listing(self.root)  # git runs while we read the cache and stat known files
        first = self._entries is None
        if first:
            self._entries = self.cache.entries(rootkey)
        entries = self._entries
        assert entries is not None
        known = _stat_many(self.root, self._listed or list(entries))
        paths = listing.result()
        self._listed = paths
        stats.files = len(paths)
        current, doubtful = self._stat_all(paths, entries, known)
        # An empty cache has nothing to match content against: parse without hashing first.
        cold = first and not entries and self.cache.empty()
        new_entries = {} if cold else self._hash(doubtful, current, stats)
        entries.update(new_entries)
        wanted = {p: entries[p].key for p in current if p in entries and self._keys.get(p) != entries[p].key}
        if first and wanted:
            wanted = self._load_root_records(rootkey, wanted, stats)
        if wanted:
            wanted = self._load_by_key(wanted, stats)
        to_parse = list(current) if cold else list(wanted)
        sizes = {p: current[p][0] for p in to_parse if p in current}
        new_records = self._parse(to_parse, sizes, new_entries, stats) if to_parse else {}
        removed = [p for p in entries if p not in current]
        for p in removed:
            del entries[p]
        gone = [p for p in self._keys if p not in current]
        for p in gone:
            self._forget(p)
        stats.removed = len(gone)
        listed = set(paths)
        self._skipped = {p: r for p, r in self._skipped.items() if p in current or (r == "large" and p in listed)}
        if new_entries or removed:
            self.cache.write(rootkey, new_entries, {}, removed)
        if first and (new_entries or new_records):
            self._maybe_prune(len(paths))
        stats.indexed = len(self.records)
        stats.skipped = _count(self._skipped.values())
        stats.seconds = time.perf_counter() - started
        return stats

    def _maybe_prune(self, files: int) -> None:
        """Old worktrees and replaced records pile up; clear them when they outweigh the live set."""
        entries, records = self.cache.counts()
        if entries > 4 * files + PRUNE_SLACK or records > 2 * entries + PRUNE_SLACK:
            self.cache.prune()

    def _stat_all(self, paths: list[str], entries: dict[str, Entry], known: dict[str, os.stat_result | None]):
        """path -> (size, mtime_ns) of regular files under the size cap; and the doubtful ones."""
        current: dict[str, tuple[int, int]] = {}
        doubtful: list[str] = []
        fresh = _stat_many(self.root, [p for p in paths if p not in known])
        for p in paths:
            st = known[p] if p in known else fresh[p]
            if st is None or not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size > self.max_file_bytes:
                self._skipped[p] = "large"
                self._forget(p, keep_skip=True)
                continue
            current[p] = (st.st_size, st.st_mtime_ns)
            entry = entries.get(p)
            if entry is None or not entry.trusted_for(st.st_size, st.st_mtime_ns):
                doubtful.append(p)
        return current, doubtful

    def _hash(self, doubtful: list[str], current: dict[str, tuple[int, int]], stats: RefreshStats) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for p in doubtful:
            checked = time.time_ns()
            key = read_key(self.root, p)
            if key is None:
                current.pop(p, None)
                continue
            size, mtime = current[p]
            found[p] = Entry(size, mtime, key, checked)
        stats.hashed = len(found)
        return found

    def _load_root_records(self, rootkey: str, wanted: dict[str, str], stats: RefreshStats) -> dict[str, str]:
        """First refresh: take this root's records in one query."""
        rows = self.cache.records(rootkey)
        left = {}
        for path, key in wanted.items():
            row = rows.get(path)
            if row is not None and row[0] == key and self._adopt(path, key, row[1]):
                stats.from_cache += 1
            else:
                left[path] = key
        return left

    def _load_by_key(self, wanted: dict[str, str], stats: RefreshStats) -> dict[str, str]:
        blobs = self.cache.records_by_key(sorted(set(wanted.values())))
        left = {}
        for path, key in wanted.items():
            blob = blobs.get(key)
            if blob is not None and self._adopt(path, key, blob):
                stats.from_cache += 1
            else:
                left[path] = key
        return left

    def _parse(self, paths: list[str], sizes: dict[str, int], new_entries: dict[str, Entry], stats: RefreshStats) -> dict[str, bytes]:
        """Parse on every core; store results in batches while the workers go on."""
        records: dict[str, bytes] = {}
        batch_entries: dict[str, Entry] = {}
        batch_records: dict[str, bytes] = {}
        for path, key, size, mtime, blob in parse_many(self.root, sorted(paths), self.workers, sizes):
            if not self._adopt(path, key, blob):
                continue
            stats.parsed += 1
            entry = Entry(size, mtime, key, time.time_ns())
            assert self._entries is not None
            self._entries[path] = entry
            records[key] = batch_records[key] = blob
            batch_entries[path] = entry
            new_entries.pop(path, None)  # stored with its batch, not again at the end
            if len(batch_entries) >= WRITE_BATCH:
                self.cache.write(str(self.root), batch_entries, batch_records, [])
                batch_entries, batch_records = {}, {}
        self.cache.write(str(self.root), batch_entries, batch_records, [])
        return records

    def _adopt(self, path: str, key: str, blob: bytes) -> bool:
        try:
            record = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return False
        if not isinstance(record, tuple) or len(record) != RECORD_FIELDS:
            return False
        self._keys[path] = key
        self.version += 1
        if record[SKIPPED]:
            self._skipped[path] = record[SKIPPED]
            self.records.pop(path, None)
        else:
            self._skipped.pop(path, None)
            self.records[path] = record
        return True

    def _forget(self, path: str, keep_skip: bool = False) -> None:
        if self._keys.pop(path, None) is not None or path in self.records:
            self.version += 1
        self.records.pop(path, None)
        if not keep_skip:
            self._skipped.pop(path, None)


def _stat_many(root: Path, paths: list[str]) -> dict[str, os.stat_result | None]:
    base = str(root) + os.sep
    found: dict[str, os.stat_result | None] = {}
    for p in paths:
        try:
            found[p] = os.lstat(base + p)  # symlinks are not followed (they may point outside)
        except OSError:
            found[p] = None
    return found


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
