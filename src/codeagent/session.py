"""The session log: one folder per run, enough to audit, replay and resume it.

    <root>/<id>/            root: --session-dir, else <user data dir>/sessions
        meta.json           id, repo, instruction, created, updated, status, pid, hostname
        config.json         the run's effective config
        events.jsonl        one JSON event per line, flushed as it is written
        state.json          the loop's resumable state (replaced atomically)
        result.json         the final RunResult
        final.patch         the final diff

Ids sort by time: `20261121-235959-ab12cd` (UTC). Every string written passes through
a `redact.Redactor`: the run's secrets, the values of secret-named fields and env vars, and
anything shaped like an `sk-...` key become "****". A run killed outright leaves
status "running" with a dead pid; readers report it as "interrupted".
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets as _secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from codeagent import config as _config
from codeagent.errors import ConfigError
from codeagent.gitutil import find_repo_root
from codeagent.redact import Redactor, secrets_in

STATUSES = ("running", "done", "not_done", "planned", "interrupted", "crashed", "error")
UNFINISHED = ("interrupted", "crashed")


def run_ids_to_keep(repo: Path, root: Path | None = None) -> set[str]:
    """Workspace run ids of this repo's sessions that are running or resumable: what
    `cleanup_stale(repo, keep=...)` must leave alone."""
    keep: set[str] = set()
    for info in list_sessions(root, repo):
        if info.status in ("running", *UNFINISHED):
            state = _read_json(info.dir / "state.json")
            keep.add(info.id)
            if isinstance(state, dict) and isinstance(state.get("run_id"), str):
                keep.add(state["run_id"])
    return keep


def default_root() -> Path:
    return _config.user_data_dir() / "sessions"


def _atomic_write(path: Path, text: str) -> None:
    """Replace `path` whole. Undecodable bytes carried as surrogates are written back as-is."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"error": f"unreadable: {path.name}"}


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start: str | None = None) -> bool:
    """Is `pid` a live (not zombie) process, and the same one when `start` is given?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    if state in ("Z", "X"):
        return False
    return start is None or _proc_start(pid) in (None, start)


def _repo_key(repo: Path) -> str:
    return str(find_repo_root(Path(repo)) or Path(repo).resolve())


class SessionLog:
    """Writes one run's session folder. Made by `create` (new run) or `reopen` (resume)."""

    def __init__(self, dir: Path, redactor: Redactor):
        self.dir = dir
        self.redactor = redactor
        self._lock = threading.Lock()
        self._events = None

    @property
    def id(self) -> str:
        return self.dir.name

    @classmethod
    def create(cls, root: Path | None, *, repo: Path, instruction: str, config: dict[str, Any],
               secrets: Iterable[str] = ()) -> "SessionLog":
        root = Path(root) if root else default_root()
        redactor = Redactor([*secrets, *secrets_in(config)])
        try:
            root.mkdir(parents=True, exist_ok=True)
            for _ in range(20):
                sid = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + _secrets.token_hex(3)
                try:
                    (root / sid).mkdir(mode=0o700)
                    break
                except FileExistsError:
                    continue
        except OSError as exc:
            raise ConfigError(f"cannot create a session folder in {root}: {exc.strerror}",
                              hint="choose another place with --session-dir") from None
        log = cls(root / sid, redactor)
        now = time.time()
        log._write_meta({"id": sid, "repo": _repo_key(repo), "instruction": instruction, "created": now,
                         "updated": now, "status": "running", "resumes": 0, **_owner()})
        log.save_config(config)
        return log

    @classmethod
    def reopen(cls, session: str | Path, root: Path | None = None, *, secrets: Iterable[str] = ()) -> "SessionLog":
        """Reattach to an earlier session (its folder, id or id prefix) to resume it:
        this process becomes its owner and its status "running" again."""
        path = Path(session) if isinstance(session, Path) else resolve_session(session, root)
        if not (path / "meta.json").is_file():
            raise ConfigError(f"{path} is not a session folder")
        config = _read_json(path / "config.json") or {}
        log = cls(path, Redactor([*secrets, *secrets_in(config)]))
        events = path / "events.jsonl"
        if events.is_file() and events.stat().st_size:
            with open(events, "rb") as fh:  # a kill mid-write can leave a partial last line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    with open(events, "ab") as out:
                        out.write(b"\n")
        meta = log.meta()
        meta.update(status="running", updated=time.time(), resumes=int(meta.get("resumes", 0)) + 1, **_owner())
        log._write_meta(meta)
        return log

    # -- writing --------------------------------------------------------------------

    def write(self, event: Any) -> None:
        """Append one event (an Event, or a dict) as a JSON line, flushed."""
        data = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        line = self.redactor.dumps(data, ensure_ascii=False) + "\n"
        # A lone surrogate (bytes that were not UTF-8) becomes a JSON \\udcXX escape.
        line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        with self._lock:
            if self._events is None:
                self._events = open(self.dir / "events.jsonl", "a", encoding="utf-8")
            self._events.write(line)
            self._events.flush()

    def save_config(self, config: dict[str, Any]) -> None:
        _atomic_write(self.dir / "config.json", self.redactor.dumps(config, indent=2))

    def save_patch(self, diff: str) -> Path:
        """final.patch; a secret in it is replaced too (the patch then documents, not applies)."""
        path = self.dir / "final.patch"
        _atomic_write(path, self.redactor.text(diff))
        return path

    def save_result(self, result: Any) -> None:
        _atomic_write(self.dir / "result.json", self.redactor.dumps(result, indent=2))

    def save_state(self, state: dict[str, Any]) -> None:
        _atomic_write(self.dir / "state.json", self.redactor.dumps(state))

    def load_state(self) -> dict[str, Any] | None:
        state = _read_json(self.dir / "state.json")
        return state if isinstance(state, dict) and "error" not in state else None

    def mark_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown session status {status!r}")
        meta = self.meta()
        meta.update(status=status, updated=time.time())
        self._write_meta(meta)

    def meta(self) -> dict[str, Any]:
        return _read_json(self.dir / "meta.json") or {}

    def close(self) -> None:
        with self._lock:
            if self._events is not None:
                self._events.close()
                self._events = None

    def _write_meta(self, meta: dict[str, Any]) -> None:
        _atomic_write(self.dir / "meta.json", self.redactor.dumps(meta, indent=2))


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "hostname": socket.gethostname(), "pid_start": _proc_start(os.getpid())}


# -- reading ----------------------------------------------------------------------------


@dataclass
class SessionInfo:
    id: str
    dir: Path
    repo: str
    instruction: str
    created: float
    updated: float
    status: str  # effective: a "running" session whose process is gone reads "interrupted"
    recorded_status: str
    reason: str | None = None  # from result.json when the run finished
    kind: str = "session_info"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dir": str(self.dir)}


@dataclass
class SessionRecord:
    info: SessionInfo
    meta: dict[str, Any]
    config: dict[str, Any] | None
    events: list[dict[str, Any]]
    result: dict[str, Any] | None
    patch: str | None
    state: dict[str, Any] | None
    bad_lines: int = 0  # event lines that did not parse (a kill mid-write)
    kind: str = "session_record"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def dir(self) -> Path:
        return self.info.dir

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["info"] = self.info.to_dict()
        return data


def effective_status(meta: dict[str, Any]) -> str:
    status = str(meta.get("status", "unknown"))
    if status == "running" and meta.get("hostname") == socket.gethostname():
        if not process_alive(int(meta.get("pid") or 0), meta.get("pid_start")):
            return "interrupted"
    return status


def _info(path: Path) -> SessionInfo:
    meta = _read_json(path / "meta.json") or {}
    result = _read_json(path / "result.json")
    recorded = str(meta.get("status", "unreadable" if "error" in meta else "unknown"))
    return SessionInfo(
        id=path.name, dir=path, repo=str(meta.get("repo", "")), instruction=str(meta.get("instruction", "")),
        created=float(meta.get("created") or 0), updated=float(meta.get("updated") or 0),
        status=effective_status(meta) if "error" not in meta else "unreadable", recorded_status=recorded,
        reason=result.get("reason") if isinstance(result, dict) else None,
    )


def list_sessions(root: Path | None = None, repo: Path | None = None) -> list[SessionInfo]:
    """Sessions newest first; only those of `repo` when given."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        return []
    infos = [_info(p) for p in sorted(root.iterdir(), reverse=True) if (p / "meta.json").exists()]
    if repo is not None:
        key = _repo_key(repo)
        infos = [i for i in infos if i.repo == key]
    return infos


def resolve_session(id_or_prefix: str, root: Path | None = None) -> Path:
    root = Path(root) if root else default_root()
    if id_or_prefix and (root / id_or_prefix / "meta.json").exists() and "/" not in id_or_prefix:
        return root / id_or_prefix
    matches = [p for p in (sorted(root.iterdir()) if root.is_dir() else [])
               if id_or_prefix and p.name.startswith(id_or_prefix) and (p / "meta.json").exists()]
    if not matches:
        raise ConfigError(f"no session matches {id_or_prefix!r} in {root}", hint="see: codeagent sessions list --all")
    if len(matches) > 1:
        names = ", ".join(p.name for p in matches[:5])
        raise ConfigError(f"{id_or_prefix!r} matches {len(matches)} sessions ({names}); give more of the id")
    return matches[0]


def load_session(id_or_prefix: str, root: Path | None = None) -> SessionRecord:
    path = resolve_session(id_or_prefix, root)
    events, bad = [], 0
    try:
        lines = (path / "events.jsonl").read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            bad += 1
    patch_file = path / "final.patch"
    return SessionRecord(
        info=_info(path), meta=_read_json(path / "meta.json") or {}, config=_read_json(path / "config.json"),
        events=events, result=_read_json(path / "result.json"),
        patch=patch_file.read_text(encoding="utf-8", errors="replace") if patch_file.is_file() else None,
        state=_read_json(path / "state.json"), bad_lines=bad,
    )


def latest_unfinished(repo: Path, root: Path | None = None) -> SessionInfo | None:
    """The newest interrupted or crashed session of `repo`: what `codeagent resume` picks."""
    for info in list_sessions(root, repo):
        if info.status in UNFINISHED:
            return info
    return None
