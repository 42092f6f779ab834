"""The staged snapshot, kept apart from the user's work.

Nothing here stashes, resets or rewrites the user's working tree. The snapshot
being committed is captured as a tree id (`git write-tree`, honouring the
GIT_INDEX_FILE git sets for `commit -a` and `commit <paths>`) and checked out
into a private scratch repository that borrows the user's objects through
`objects/info/alternates`. Checks, the agent and the re-check of a fix all work
there; unstaged hunks and untracked files are never read, moved or written, so a
crash, Ctrl-C or SIGKILL at any moment cannot lose them.

The one place the user's repo changes is `stage_patch` (fix mode): the verified
fix goes into the index with `git apply --cached`, and into the working tree only
where it applies cleanly on top of the user's unstaged edits, with the touched
files copied aside first and put back byte for byte if anything fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from codeagent.errors import WorkspaceError

# Variables that make git look at another repo, index or object store than the cwd's.
GIT_LOCATION_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
)


def clean_git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ without the variables a hook inherits that point git at the user's repo."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARS}
    env.update(extra or {})
    return env


def git(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run git in `cwd`; `env=None` inherits ours (the hook's, GIT_INDEX_FILE included)."""
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=env, capture_output=True)
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        raise WorkspaceError(f"git {' '.join(args[:2])} failed: {message}")
    return proc


def out(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode("utf-8", "replace").strip()


@dataclass
class StagedSnapshot:
    """What `git commit` is about to record: the index tree and the commit it goes on."""

    repo: Path
    tree: str
    head: str | None  # None on an unborn branch
    changed: list[str] = field(default_factory=list)  # every staged path
    covered: list[str] = field(default_factory=list)  # the staged paths some check covers
    kind: str = "staged_snapshot"

    @classmethod
    def capture(cls, repo: Path, changed: list[str], covered: list[str] | None = None) -> "StagedSnapshot":
        proc = git(repo, "write-tree", check=False)
        if proc.returncode != 0:
            raise WorkspaceError(
                "the index cannot be written as a tree (unresolved merge conflicts?)",
                hint="resolve the conflicts and `git add` the files, then commit again",
            )
        head = git(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
        covered = list(changed if covered is None else covered)
        return cls(Path(repo), out(proc), out(head) or None, list(changed), covered)

    def diff(self, context: int = 3) -> str:
        """The staged change as a unified diff (what review reads)."""
        base = self.head or empty_tree(self.repo)
        proc = git(self.repo, "diff", "--no-color", "--no-ext-diff", "--no-renames",
                   f"-U{context}", base, self.tree)
        return proc.stdout.decode("utf-8", "replace")


def empty_tree(repo: Path) -> str:
    return out(git(repo, "mktree", input=b""))


def objects_dir(repo: Path) -> Path:
    path = Path(out(git(repo, "rev-parse", "--git-path", "objects")))
    return path if path.is_absolute() else (repo / path).resolve()


class ScratchRepo:
    """A private git repo whose HEAD is the user's HEAD and whose index and work
    tree hold the staged snapshot. It shares the user's objects read-only."""

    def __init__(self, path: Path, snapshot: StagedSnapshot):
        self.path = path
        self.snapshot = snapshot
        self.env = clean_git_env({"GIT_CEILING_DIRECTORIES": str(path.parent)})

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return git(self.path, *args, input=input, env=self.env, check=check)

    @classmethod
    def create(cls, path: Path, snapshot: StagedSnapshot) -> "ScratchRepo":
        path.mkdir(parents=True)
        scratch = cls(path, snapshot)
        scratch.git("init", "-q", "-b", "precommit")
        alternates = path / ".git" / "objects" / "info" / "alternates"
        alternates.write_text(str(objects_dir(snapshot.repo)) + "\n")
        for key, value in (("user.name", "codeagent precommit"), ("user.email", "precommit@codeagent.invalid"),
                           ("commit.gpgsign", "false"), ("core.hooksPath", "/dev/null")):
            scratch.git("config", key, value)
        head = snapshot.head or scratch._root_commit()
        scratch.git("update-ref", "refs/heads/precommit", head)
        scratch.reset_to_snapshot()
        return scratch

    def _root_commit(self) -> str:
        tree = out(self.git("mktree", input=b""))
        return out(self.git("commit-tree", tree, "-m", "empty root (unborn branch)"))

    def reset_to_snapshot(self) -> None:
        """Make index and work tree exactly the staged snapshot again (this repo only)."""
        self.git("read-tree", self.snapshot.tree)
        self.git("checkout-index", "-a", "-f")
        self.git("update-index", "-q", "--refresh", check=False)  # stat info, for `apply --index`
        self.git("clean", "-fdxq")

    def apply(self, patch: str) -> None:
        """Apply a patch to this work tree and index; WorkspaceError if it does not apply."""
        self.git("apply", "--index", "--whitespace=nowarn", input=patch.encode())


def materialize_tree(repo: Path, tree: str, dest: Path) -> Path:
    """Check out `tree` of `repo` into the plain directory `dest` (no .git), index untouched."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="codeagent-index-") as tmp:
        env = clean_git_env({"GIT_INDEX_FILE": str(Path(tmp) / "index"),
                             "GIT_DIR": out(git(repo, "rev-parse", "--absolute-git-dir"))})
        git(repo, "read-tree", tree, env=env)
        git(repo, "checkout-index", "-a", "-f", f"--prefix={dest}/", env=env)
    return dest


# --- scratch areas: one per hook run, swept when their process is gone ---------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: Path) -> list[Path]:
    """Remove scratch areas left by hook runs that were killed; return what was removed."""
    removed = []
    if not base.is_dir():
        return removed
    for area in base.glob("run-*"):
        try:
            pid = int((area / "pid").read_text())
        except (OSError, ValueError):
            pid = -1
            if time.time() - area.stat().st_mtime < 60:
                continue  # being created right now
        if pid == os.getpid() or (pid > 0 and _alive(pid)):
            continue
        shutil.rmtree(area, ignore_errors=True)
        removed.append(area)
    return removed


@contextmanager
def scratch_area(base: Path) -> Iterator[Path]:
    """A fresh directory under `base` for one hook run, removed on exit."""
    base.mkdir(parents=True, exist_ok=True)
    sweep_stale(base)
    area = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    (area / "pid").write_text(str(os.getpid()))
    try:
        yield area
    finally:
        shutil.rmtree(area, ignore_errors=True)


# --- staging a verified fix into the user's repo -------------------------------------

@dataclass
class StageResult:
    files: list[str]
    worktree_updated: list[str]
    worktree_kept: list[str]  # files whose unstaged edits the fix could not be laid over
    note: str = ""
    kind: str = "stage_result"


def split_patch(patch: str) -> list[tuple[str, str]]:
    """(path, that file's part of the patch) for each file a `git diff` patch touches."""
    parts: list[tuple[str, list[str]]] = []
    for line in patch.splitlines(keepends=True):
        if line.startswith("diff --git "):
            path = line.rstrip("\n").split(" b/", 1)[-1]
            parts.append((path, []))
        if parts:
            parts[-1][1].append(line)
    return [(path, "".join(lines)) for path, lines in parts]


def patch_files(patch: str) -> list[str]:
    return [path for path, _ in split_patch(patch)]


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP until the block ends, so staging is not cut in half."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def stage_patch(snapshot: StagedSnapshot, patch: str, rescue_dir: Path) -> StageResult:
    """Stage `patch` (made against the staged snapshot) into the user's index; lay each
    file's part over the working tree too where it applies cleanly on top of the
    user's unstaged edits. Refuses if the index moved since the snapshot."""
    repo = snapshot.repo
    result = StageResult(patch_files(patch), [], [])
    with signals_deferred():
        if out(git(repo, "write-tree", check=False)) != snapshot.tree:
            raise WorkspaceError("the index changed while the hook ran; the fix was not staged")
        git(repo, "apply", "--cached", "--whitespace=nowarn", input=patch.encode())
        for path, part in split_patch(patch):
            data = part.encode()
            if git(repo, "apply", "--check", "--whitespace=nowarn", input=data, check=False).returncode != 0:
                result.worktree_kept.append(path)
                continue
            saved = save_files(repo, [path], rescue_dir)
            try:
                git(repo, "apply", "--whitespace=nowarn", input=data)
                result.worktree_updated.append(path)
            except WorkspaceError:
                restore_files(repo, saved, rescue_dir)
                result.worktree_kept.append(path)
        shutil.rmtree(rescue_dir, ignore_errors=True)
    if result.worktree_kept:
        result.note = ("the fix is staged; your working tree keeps your version of "
                       f"{', '.join(result.worktree_kept)} because unstaged edits there overlap the fix "
                       "(after the commit, `git diff` shows them against the fixed version)")
    return result


def save_files(repo: Path, files: list[str], dest: Path) -> dict[str, bool]:
    """Copy `files` of the working tree to `dest` byte for byte; path -> existed."""
    dest.mkdir(parents=True, exist_ok=True)
    saved = {}
    for rel in files:
        src = repo / rel
        saved[rel] = src.is_file() or src.is_symlink()
        if saved[rel]:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target, follow_symlinks=False)
    return saved


def restore_files(repo: Path, saved: dict[str, bool], src: Path) -> None:
    for rel, existed in saved.items():
        target = repo / rel
        if existed:
            if target.is_symlink() or target.exists():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, target, follow_symlinks=False)
        elif target.is_file() or target.is_symlink():
            target.unlink()
