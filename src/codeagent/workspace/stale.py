"""Cleanup of runs that are gone: their worktrees, worktree metadata and refs.

A run's worktree is locked with `codeagent run=<id> pid=<pid> host=<host>`. It is
stale when its process is dead (on this host) and its id is not in `keep` (the
runner passes the ids of sessions that can still be resumed). Refs under
refs/codeagent/<id>/ without a live worktree go the same way.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterable

from codeagent.session import process_alive
from codeagent.workspace.core import LOCK_PREFIX, find_user_repo, registered_worktrees, remove_run


def parse_lock_reason(reason: str) -> dict[str, str] | None:
    """{'run', 'pid', 'host'} from a codeagent lock reason; None for other locks."""
    if not reason.startswith(LOCK_PREFIX):
        return None
    fields = dict(part.split("=", 1) for part in reason.split() if "=" in part)
    return fields if "run" in fields else None


def _owner_alive(fields: dict[str, str]) -> bool:
    if fields.get("host") != socket.gethostname():
        return True  # another machine's process: cannot tell, so keep it
    try:
        return process_alive(int(fields.get("pid", "0")))
    except ValueError:
        return False


def cleanup_stale(repo: Path, keep: Iterable[str] = ()) -> list[str]:
    """Remove the worktrees and refs of dead runs in `repo`; the run ids removed."""
    user = find_user_repo(repo)
    keep = set(keep)
    removed: list[str] = []
    live: set[str] = set()
    for path, reason in registered_worktrees(user).items():
        fields = parse_lock_reason(reason)
        if fields is None:
            continue
        run_id = fields["run"]
        if run_id in keep or _owner_alive(fields):
            live.add(run_id)
            continue
        remove_run(user, run_id, path)
        removed.append(run_id)
    refs = user.git.text("for-each-ref", "--format=%(refname)", "refs/codeagent/").split()
    for run_id in sorted({ref.split("/")[2] for ref in refs}):
        if run_id in keep or run_id in live or run_id in removed:
            continue
        remove_run(user, run_id, None)
        removed.append(run_id)
    user.git.run("worktree", "prune", check=False)
    return removed
