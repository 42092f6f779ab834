"""How the workspace talks to git: one `GitRunner` per (git dir, work tree, index).

Every command runs through gitpython with an explicit GIT_DIR, GIT_WORK_TREE and
GIT_INDEX_FILE, so nothing inherited from the caller (a pre-commit hook exports all
three) can point a command at the wrong repository or index. Hooks, signing,
auto-gc and optional locks are off: the workspace's own commits are plumbing, and a
read-only command in the user's repo never rewrites the user's index.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import git

from codeagent.errors import WorkspaceError

# Generated files that never enter a snapshot, a checkpoint or a diff (they are not
# the user's work, and test runs in the worktree create them).
JUNK_PATHSPECS = (
    ":(exclude,glob)**/__pycache__/**",
    ":(exclude,glob)**/*.py[co]",
    ":(exclude,glob)**/.pytest_cache/**",
    ":(exclude,glob)**/.mypy_cache/**",
    ":(exclude,glob)**/.ruff_cache/**",
    ":(exclude,glob)**/.hypothesis/**",
    ":(exclude,glob)**/.coverage",
)

_CONFIG = {
    "core.hooksPath": os.devnull,
    "core.fsmonitor": "false",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
    "advice.detachedHead": "false",
}

AGENT_IDENTITY = {
    "GIT_AUTHOR_NAME": "codeagent",
    "GIT_AUTHOR_EMAIL": "codeagent@localhost",
    "GIT_COMMITTER_NAME": "codeagent",
    "GIT_COMMITTER_EMAIL": "codeagent@localhost",
}

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _base_env() -> dict[str, str]:
    env = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": str(len(_CONFIG))}
    for i, (key, value) in enumerate(_CONFIG.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


_WORKTREE_LOCK = threading.RLock()


@dataclass
class GitResult:
    status: int
    out: bytes
    err: str


class GitRunner:
    """Runs `git ...` for one work tree with a pinned git dir and index file."""

    def __init__(self, git_dir: Path, work_tree: Path, index_file: Path):
        self.git_dir = Path(git_dir)
        self.work_tree = Path(work_tree)
        self.index_file = Path(index_file)
        self._git = git.Git(str(work_tree))
        self._env = {
            **_base_env(),
            "GIT_DIR": str(git_dir),
            "GIT_WORK_TREE": str(work_tree),
            "GIT_INDEX_FILE": str(index_file),
        }

    def with_index(self, index_file: Path) -> "GitRunner":
        return GitRunner(self.git_dir, self.work_tree, index_file)

    def run(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> GitResult:
        """Run one command; bytes out. A failure raises WorkspaceError unless check=False.
        `git worktree` commands are serialised in this process: git's own bookkeeping of
        .git/worktrees races when several are added at once (best-of-n does that)."""
        if args and args[0] == "worktree":
            with _WORKTREE_LOCK:
                return self._run(args, env, check)
        return self._run(args, env, check)

    def _run(self, args: tuple[str, ...], env: dict[str, str] | None, check: bool) -> GitResult:
        try:
            status, out, err = self._git.execute(
                ["git", *args],
                env={**self._env, **(env or {})},
                with_extended_output=True,
                with_exceptions=False,
                stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        except git.GitCommandNotFound as exc:
            raise WorkspaceError("git is not installed or not on PATH") from exc
        err_text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
        if check and status != 0:
            raise WorkspaceError(f"git {' '.join(args[:3])} failed: {err_text.strip() or f'exit {status}'}")
        return GitResult(status, out, err_text)

    def text(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run and return stdout as text, trailing newline stripped."""
        return self.run(*args, env=env).out.decode("utf-8", "surrogateescape").rstrip("\n")

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).status == 0

    def rev(self, spec: str) -> str | None:
        """The sha `spec` names, or None when it names nothing."""
        res = self.run("rev-parse", "--verify", "-q", spec, check=False)
        if res.status != 0:
            return None
        return res.out.decode().strip() or None

    def identity(self) -> dict[str, str]:
        """The user's configured identity, or codeagent's when none is set."""
        name = self.run("config", "user.name", check=False).out.decode().strip()
        email = self.run("config", "user.email", check=False).out.decode().strip()
        return {} if name and email else dict(AGENT_IDENTITY)

    def commit_tree(self, tree: str, parents: list[str], message: str, env: dict[str, str] | None = None) -> str:
        args = ["commit-tree", tree, "-m", message]
        for parent in parents:
            args += ["-p", parent]
        return self.text(*args, env=AGENT_IDENTITY if env is None else env)

    def stage_all(self, skip: list[str] | tuple[str, ...] = ()) -> str:
        """Stage every change of the work tree (adds, deletions, modes, untracked
        not ignored; not the paths in `skip`) into this runner's index; the tree sha."""
        excluded = [f":(exclude,literal){path}" for path in skip]
        self.run("add", "-A", "--", ".", *JUNK_PATHSPECS, *excluded)
        return self.text("write-tree")

    def large_untracked(self, limit: int) -> list[str]:
        """Untracked, not ignored files bigger than `limit` bytes."""
        out = self.run("ls-files", "--others", "--exclude-standard", "-z").out
        found = []
        for raw in out.split(b"\0"):
            path = raw.decode("utf-8", "surrogateescape")
            try:
                if path and (self.work_tree / path).lstat().st_size > limit:
                    found.append(path)
            except OSError:
                continue
        return found


def read_gitfile(worktree: Path) -> Path:
    """The admin dir a linked worktree's `.git` file points to."""
    content = (worktree / ".git").read_text(encoding="utf-8").strip()
    if not content.startswith("gitdir:"):
        raise WorkspaceError(f"{worktree}/.git is not a worktree link")
    return Path(content.split(":", 1)[1].strip())
