"""The isolated git worktree a run works in, its checkpoints and rollback.

`Workspace.open(repo)` snapshots the user's HEAD plus their uncommitted changes into
a "base" commit (plumbing only: the user's tree, index, HEAD, branches and stash are
never touched), and checks it out as a detached `git worktree` in the cache dir.
Checkpoints are commits on that detached HEAD. Private refs keep them alive:

    refs/codeagent/<run_id>/base        the snapshot the run started from
    refs/codeagent/<run_id>/checkpoint  the last checkpoint (the line being worked on)

The worktree is locked with the reason `codeagent run=<id> pid=<pid> host=<host>`,
which `git worktree list` shows and `cleanup_stale` reads.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from codeagent import config
from codeagent.errors import ConfigError, NotAGitRepoError, WorkspaceError
from codeagent.workspace.gitops import GitRunner, read_gitfile

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LOCK_PREFIX = "codeagent run="
SNAPSHOTS = ("all", "index")
MAX_UNTRACKED_BYTES = 50_000_000
INIT_HINT = "git init && git add -A && git commit -m init"


@dataclass
class UserRepo:
    """The user's repository, seen read-only except for refs/codeagent/*."""

    root: Path
    git: GitRunner  # pinned to the user's real index
    index_source: Path  # the index a snapshot reads (GIT_INDEX_FILE when a hook set it)

    @property
    def head(self) -> str | None:
        return self.git.rev("HEAD^{commit}")


def find_user_repo(path: Path) -> UserRepo:
    """The git work tree containing `path`; NotAGitRepoError outside any."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such directory")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise NotAGitRepoError(
            f"{path.resolve()} is not inside a git repository; codeagent works on a copy "
            "made with git and applies the result back as a diff",
            hint=f"make it one first: {INIT_HINT}",
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise NotAGitRepoError(f"{path.resolve()} is a bare repository; run codeagent in a work tree")
    root = Path(repo.working_tree_dir).resolve()
    git_dir = Path(repo.git_dir).resolve()
    index = git_dir / "index"
    hook_index = os.environ.get("GIT_INDEX_FILE")
    source = Path(root, hook_index) if hook_index else index
    return UserRepo(root, GitRunner(git_dir, root, index), source)


def default_worktree_dir(run_id: str) -> Path:
    return config.user_cache_dir() / "worktrees" / run_id


def check_run_id(run_id: str) -> None:
    if not RUN_ID_RE.match(run_id) or ".." in run_id or run_id.endswith((".lock", ".")):
        raise ConfigError(f"bad run id {run_id!r}: use letters, digits, '.', '_' and '-'")


def lock_reason(run_id: str) -> str:
    return f"{LOCK_PREFIX}{run_id} pid={os.getpid()} host={socket.gethostname()}"


def snapshot_tree(user: UserRepo, snapshot: str, skip: list[str] | tuple[str, ...] = ()) -> str:
    """The tree of the user's state: "all" = HEAD + staged + unstaged + untracked
    (not ignored, minus `skip`); "index" = HEAD + staged only. Works on a copy of the index."""
    if snapshot not in SNAPSHOTS:
        raise ConfigError(f"unknown snapshot {snapshot!r}; choose one of: {', '.join(SNAPSHOTS)}")
    with tempfile.TemporaryDirectory(prefix="codeagent-index-") as tmp:
        index = Path(tmp) / "index"
        if user.index_source.is_file():
            shutil.copyfile(user.index_source, index)
        runner = user.git.with_index(index)
        if snapshot == "all":
            return runner.stage_all(skip)
        res = runner.run("write-tree", check=False)
        if res.status != 0:
            raise WorkspaceError(
                "the index has unresolved merge conflicts; cannot snapshot it",
                hint="resolve them (git add the fixed files) and try again",
            )
        return res.out.decode().strip()


class Workspace:
    """One run's worktree. Made by `open` or `reopen`; see the module docstring."""

    def __init__(self, user: UserRepo, run_id: str, path: Path, base_commit: str):
        self.user = user
        self.repo_path = user.root
        self.run_id = run_id
        self.path = path
        self.base_commit = base_commit
        self.start_head = user.git.rev(f"{base_commit}^")  # the user's HEAD at open; None if unborn
        self.start_branch: str | None = None  # the user's branch at open (set by `open`; "" when detached)
        admin = read_gitfile(path)
        self.wt = GitRunner(admin, path, admin / "index")
        self.checkpoints: list[str] = self._lineage()
        self.skipped: list[str] = []  # untracked files too big to carry in (see `open`)
        self.closed = False

    # -- making and finding ---------------------------------------------------------

    @classmethod
    def open(cls, repo: Path, *, run_id: str, base_dir: Path | None = None, snapshot: str = "all",
             max_untracked_bytes: int = MAX_UNTRACKED_BYTES) -> "Workspace":
        """Snapshot and check out; untracked files over `max_untracked_bytes` (data
        sets, dumps) are left out and listed in `.skipped`."""
        user = find_user_repo(repo)
        check_run_id(run_id)
        path = Path(base_dir).resolve() if base_dir else default_worktree_dir(run_id)
        if path.exists() and any(path.iterdir()):
            raise WorkspaceError(f"{path} already exists and is not empty", hint="choose another run id or base dir")
        if user.git.rev(f"refs/codeagent/{run_id}/base"):
            raise WorkspaceError(f"run {run_id} already has a workspace", hint="use Workspace.reopen to resume it")
        skipped = user.git.large_untracked(max_untracked_bytes) if snapshot == "all" else []
        branch = user.git.run("symbolic-ref", "-q", "HEAD", check=False).out.decode().strip()
        tree = snapshot_tree(user, snapshot, skipped)
        head = user.head
        message = f"codeagent: base of run {run_id} (HEAD + uncommitted changes, snapshot={snapshot})"
        base = user.git.commit_tree(tree, [head] if head else [], message)
        user.git.run("update-ref", f"refs/codeagent/{run_id}/base", base)
        try:
            _add_worktree(user, path, base, run_id)
        except BaseException:  # a half-made worktree (disk full, Ctrl-C) leaves nothing behind
            remove_run(user, run_id, path)
            raise
        ws = cls(user, run_id, path, base)
        ws.skipped = skipped
        ws.start_branch = branch
        return ws

    @classmethod
    def reopen(cls, repo: Path, run_id: str, base_dir: Path | None = None) -> "Workspace":
        """The workspace of an earlier run, for resume. A worktree that was removed is
        rebuilt at the last checkpoint (uncommitted edits of a removed worktree are gone)."""
        user = find_user_repo(repo)
        check_run_id(run_id)
        base = user.git.rev(f"refs/codeagent/{run_id}/base")
        if base is None:
            raise WorkspaceError(f"no workspace for run {run_id} in {user.root}")
        path = Path(base_dir).resolve() if base_dir else default_worktree_dir(run_id)
        if path in registered_worktrees(user) and (path / ".git").is_file():
            user.git.run("worktree", "unlock", str(path), check=False)
            user.git.run("worktree", "lock", "--reason", lock_reason(run_id), str(path))
        else:
            user.git.run("worktree", "unlock", str(path), check=False)
            user.git.run("worktree", "prune")
            if path.exists() and any(path.iterdir()):
                raise WorkspaceError(f"{path} exists but is not the worktree of run {run_id}")
            tip = user.git.rev(f"refs/codeagent/{run_id}/checkpoint") or base
            _add_worktree(user, path, tip, run_id)
        return cls(user, run_id, path, base)

    # -- checkpoints ------------------------------------------------------------------

    @property
    def head(self) -> str:
        """The commit the worktree stands on: the last checkpoint, or the base."""
        self._check_open()
        return self.wt.text("rev-parse", "HEAD")

    def checkpoint(self, message: str) -> str:
        """Commit everything in the worktree; the sha. No change since the last
        checkpoint: no new commit, the current one's sha is returned."""
        self._check_open()
        tree = self.wt.stage_all()
        head = self.head
        if tree == self.wt.text("rev-parse", f"{head}^{{tree}}"):
            return head
        sha = self.wt.commit_tree(tree, [head], message or "codeagent checkpoint")
        self.wt.run("update-ref", "HEAD", sha)
        self.wt.run("update-ref", self._ref("checkpoint"), sha)
        self.checkpoints.append(sha)
        return sha

    def rollback(self, sha: str | None = None) -> str:
        """Restore the exact tree of a checkpoint (default: the last one; the base when
        there is none). Tracked content, modes and deleted files come back; files not
        in it are removed, except ignored ones (build outputs, caches). Checkpoints
        after it are dropped from `.checkpoints`."""
        self._check_open()
        lineage = [self.base_commit, *self.checkpoints]
        target = lineage[-1] if sha is None else self.wt.rev(f"{sha}^{{commit}}")
        if target not in lineage:
            raise WorkspaceError(f"{sha} is not a checkpoint of run {self.run_id}")
        self.wt.run("reset", "-q", "--hard", target)
        self.wt.run("clean", "-ffdq")
        self.checkpoints = self.checkpoints[: lineage.index(target)]
        if self.checkpoints:
            self.wt.run("update-ref", self._ref("checkpoint"), target)
        else:
            self.wt.run("update-ref", "-d", self._ref("checkpoint"), check=False)
        return target

    # -- what changed -----------------------------------------------------------------

    def diff_bytes(self, since: str | None = None) -> bytes:
        self._check_open()
        self.wt.stage_all()
        return self.wt.run(*_DIFF, "--binary", since or self.base_commit).out

    def diff(self, since: str | None = None) -> str:
        """The patch from the base (or `since`) to the worktree as it is now, untracked
        new files included, binary-safe. Text: undecodable bytes survive as surrogates."""
        return self.diff_bytes(since).decode("utf-8", "surrogateescape")

    def changed_files(self, since: str | None = None) -> list[str]:
        self._check_open()
        self.wt.stage_all()
        out = self.wt.run(*_DIFF, "--name-only", "-z", since or self.base_commit).out
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def diff_stat(self, since: str | None = None) -> str:
        """A short summary for the confirmation prompt (git's --stat)."""
        self._check_open()
        self.wt.stage_all()
        return self.wt.text(*_DIFF, "--stat=100,70", since or self.base_commit)

    def final_tree(self) -> str:
        self._check_open()
        return self.wt.stage_all()

    # -- apply-back and teardown ------------------------------------------------------

    def apply_back(self, mode: str = "worktree", *, branch: str | None = None, patch_path: Path | None = None,
                   message: str = "codeagent: apply changes"):
        from codeagent.workspace.apply import apply_back

        return apply_back(self, mode, branch=branch, patch_path=patch_path, message=message)

    def close(self, keep: bool = False) -> None:
        """Remove the worktree, its metadata and the private refs. keep=True leaves
        all of them, so `reopen` can resume the run later."""
        if self.closed or keep:
            self.closed = True
            return
        remove_run(self.user, self.run_id, self.path)
        self.closed = True

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is not None)

    def _ref(self, name: str) -> str:
        return f"refs/codeagent/{self.run_id}/{name}"

    def _lineage(self) -> list[str]:
        out = self.wt.text("rev-list", "--first-parent", "--reverse", f"{self.base_commit}..HEAD")
        return out.split()

    def _check_open(self) -> None:
        if self.closed:
            raise WorkspaceError(f"the workspace of run {self.run_id} is closed")


_DIFF = ("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames")


def _add_worktree(user: UserRepo, path: Path, commit: str, run_id: str) -> None:
    """A detached, locked worktree at `commit`. Checked out by a runner pinned to the
    new worktree's own index (never an inherited GIT_INDEX_FILE)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the worktree at {path}: {exc.strerror}") from None
    user.git.run("worktree", "add", "--detach", "--no-checkout", "-q", str(path), commit)
    user.git.run("worktree", "lock", "--reason", lock_reason(run_id), str(path), check=False)
    admin = read_gitfile(path)
    GitRunner(admin, path, admin / "index").run("reset", "-q", "--hard", commit)


def registered_worktrees(user: UserRepo) -> dict[Path, str]:
    """Linked worktrees of the user's repo: path -> lock reason ('' when unlocked)."""
    found: dict[Path, str] = {}
    current: Path | None = None
    for line in user.git.text("worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree "):]).resolve()
            found[current] = ""
        elif line.startswith("locked") and current is not None:
            found[current] = line[len("locked"):].strip()
    found.pop(user.root, None)
    return found


def remove_run(user: UserRepo, run_id: str, path: Path | None) -> None:
    """Remove a run's worktree (if any), prune its metadata and delete its refs."""
    if path is not None:
        user.git.run("worktree", "unlock", str(path), check=False)
        user.git.run("worktree", "remove", "--force", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
    user.git.run("worktree", "prune", check=False)
    refs = user.git.text("for-each-ref", "--format=%(refname)", f"refs/codeagent/{run_id}/")
    for ref in refs.split():
        user.git.run("update-ref", "-d", ref, check=False)
