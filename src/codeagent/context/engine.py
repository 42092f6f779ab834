"""`ContextEngine`: the one object the planner, the loop and the CLI use to see a
repository. Every call first brings the index up to date (cheap when nothing
changed), then ranks or renders from a snapshot of it.

    engine = ContextEngine(repo)
    engine.rank("fix the --no-color flag", top_k=10)   -> [RankedFile(path, score, reasons)]
    engine.repo_map("QuerySet.filter crashes", tokens=2048) -> str
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from codeagent.context.cache import TagCache
from codeagent.context.corpus import Corpus
from codeagent.context.index import DEFAULT_MAX_FILE_BYTES, RefreshStats, RepoIndex
from codeagent.context.rank import RankedFile, Scores, ranked, score_files
from codeagent.context.repomap import render_map
from codeagent.errors import ConfigError

CACHE_FILE = "repomap.sqlite"


def default_cache_path() -> Path:
    from codeagent import config  # settings (pydantic) load only when the default is needed

    return config.user_cache_dir() / CACHE_FILE


class ContextEngine:
    """Ranked files and a repo map for one repository root, backed by the tag cache.

    cache_dir: folder of the SQLite cache (default: the user cache dir).
    Not for use from several threads at once; one engine per run.
    """

    def __init__(
        self,
        root: Path,
        *,
        cache_dir: Path | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        workers: int | None = None,
    ):
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(f"{root}: not a directory")
        self.root = root.resolve()
        cache_path = (Path(cache_dir) / CACHE_FILE) if cache_dir is not None else default_cache_path()
        self.cache = TagCache(cache_path)
        self.index = RepoIndex(self.root, self.cache, max_file_bytes=max_file_bytes, workers=workers)
        self.last_refresh: RefreshStats | None = None
        self._corpus: Corpus | None = None
        self._corpus_version = -1
        self._scores: tuple[str, int, Scores] | None = None
        self._lock = threading.Lock()

    @property
    def cache_note(self) -> str:
        """Non-empty when the cache had to be rebuilt (say why)."""
        return self.cache.note

    def refresh(self) -> RefreshStats:
        """Re-read what changed on disk since the last call."""
        with self._lock:
            try:
                self.last_refresh = self.index.refresh()
            except sqlite3.DatabaseError as exc:  # damaged while we ran: rebuild once
                self.cache.close()
                self.cache = TagCache(self.cache.path, recover_from=exc)
                self.index.cache = self.cache
                self.last_refresh = self.index.refresh()
            return self.last_refresh

    def corpus(self, refresh: bool = True) -> Corpus:
        if refresh or self._corpus is None:
            self.refresh()
        if self._corpus is None or self._corpus_version != self.index.version:
            self._corpus = Corpus(self.index.records, self._corpus)
            self._corpus_version = self.index.version
        return self._corpus

    def scores(self, query: str, refresh: bool = True) -> tuple[Corpus, Scores]:
        corpus = self.corpus(refresh)
        held = self._scores
        if held is None or held[0] != query or held[1] != self._corpus_version:
            held = self._scores = (query, self._corpus_version, score_files(corpus, self.root, query))
        return corpus, held[2]

    def rank(self, query: str, top_k: int = 20, *, refresh: bool = True) -> list[RankedFile]:
        """The `top_k` files most relevant to `query`, best first, with reasons.

        refresh=False skips re-reading the disk (for a second call right after another)."""
        if top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {top_k}")
        corpus, scores = self.scores(query, refresh)
        return ranked(corpus, scores, top_k)

    def repo_map(self, query: str = "", tokens: int = 2048, *, refresh: bool = True) -> str:
        """Signatures of the most relevant definitions, at most `tokens` tokens."""
        if tokens < 0:
            raise ConfigError(f"tokens must not be negative, got {tokens}")
        corpus, scores = self.scores(query, refresh)
        return render_map(corpus, scores, tokens)

    def files(self) -> list[str]:
        """Repo-relative paths of the indexed files."""
        return self.corpus().paths

    def close(self) -> None:
        self.cache.close()

    def __enter__(self) -> ContextEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
