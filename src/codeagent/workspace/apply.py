"""Apply-back: how the final diff of a run reaches the user.

    worktree  apply to the user's working tree, uncommitted; the index is not touched
    commit    apply to working tree and index, commit on the current branch (only when
              the touched files have no uncommitted changes of their own)
    branch    new branch NAME at the HEAD the run started from, one commit holding the
              result; the user's checkout is not touched
    patch     only write the patch file

`git apply` is all-or-nothing: if the user changed the same lines meanwhile, nothing is
applied, the patch is saved (to `patch_path`, else <user data dir>/patches/<run_id>.patch)
and the ApplyResult says why (never an exception). A successful apply writes no file.
Commit mode also refuses when the user's HEAD or branch moved since the run started.
Embedded repositories, `.git` paths, git directories and symlinks leaving the repo are
never applied back (`unsafe`); `ApplyResult.left_out` names them with the reason.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeagent import config
from codeagent.errors import ConfigError, WorkspaceError
from codeagent.workspace.gitops import EMPTY_TREE
from codeagent.workspace.unsafe import unsafe_paths

if TYPE_CHECKING:
    from codeagent.workspace.core import Workspace

MODES = ("worktree", "commit", "branch", "patch")
_APPLY = ("apply", "--binary", "--whitespace=nowarn")


@dataclass
class ApplyResult:
    applied: bool
    mode: str
    patch_path: Path | None = None
    conflict: str | None = None
    files: list[str] = field(default_factory=list)
    message: str = ""  # one line for people: what happened
    commit: str | None = None  # commit and branch modes
    branch: str | None = None
    left_out: dict[str, str] = field(default_factory=dict)  # path -> why it was never applied back
    kind: str = "apply_result"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["patch_path"] = str(self.patch_path) if self.patch_path else None
        return data


def default_patch_path(run_id: str) -> Path:
    return config.user_data_dir() / "patches" / f"{run_id}.patch"


def check_branch_name(ws_or_repo, name: str) -> None:
    """ConfigError unless `name` is a valid, unused branch name (call it before a run)."""
    from codeagent.workspace.core import find_user_repo

    user = ws_or_repo.user if hasattr(ws_or_repo, "user") else find_user_repo(ws_or_repo)
    if not name or not user.git.ok("check-ref-format", "--branch", name):
        raise ConfigError(f"{name!r} is not a valid branch name")
    if user.git.rev(f"refs/heads/{name}"):
        raise ConfigError(f"branch {name!r} already exists", hint="choose another name with --branch")


def apply_back(ws: "Workspace", mode: str, *, branch: str | None, patch_path: Path | None,
               message: str) -> ApplyResult:
    if mode not in MODES:
        raise ConfigError(f"unknown apply mode {mode!r}; choose one of: {', '.join(MODES)}")
    if mode == "branch" and not branch:
        raise ConfigError("apply mode 'branch' needs a branch name")
    patch = ws.diff_bytes()
    files = ws.changed_files()
    if not patch.strip():
        return ApplyResult(False, mode, message="the run changed nothing; nothing to apply")
    left_out = unsafe_paths(ws)
    if left_out:
        patch, files = _without(ws, left_out), [f for f in files if f not in left_out]
    result = _apply(ws, mode, patch, files, branch, patch_path, message)
    if left_out:
        result.left_out = left_out
        result.message += f"; left out {len(left_out)} unsafe path(s): " + ", ".join(
            f"{p} ({why})" for p, why in list(left_out.items())[:3])
    return result


def _apply(ws: "Workspace", mode: str, patch: bytes, files: list[str], branch: str | None,
           patch_path: Path | None, message: str) -> ApplyResult:
    if mode == "patch":
        patch_path = _write_patch(patch, patch_path or default_patch_path(ws.run_id))
        return ApplyResult(False, mode, patch_path, files=files, message=f"patch written to {patch_path}")
    if not patch.strip():
        return ApplyResult(False, mode, message="nothing safe to apply")
    if mode == "branch":
        return _to_branch(ws, branch, patch, patch_path, files, message)
    if mode == "commit":
        moved = _moved(ws)
        if moved:
            return _conflict(ws, mode, patch, patch_path, files, moved)
        dirty = _dirty(ws, files)
        if dirty:
            reason = "uncommitted changes in files the run touched: " + ", ".join(dirty[:5])
            return _conflict(ws, mode, patch, patch_path, files, reason)
    problem = _git_apply(ws, patch, "--check", *(["--index"] if mode == "commit" else []))
    if problem:
        return _conflict(ws, mode, patch, patch_path, files, problem)
    problem = _git_apply(ws, patch, *(["--index"] if mode == "commit" else []))
    if problem:  # the tree changed between check and apply; git apply is all-or-nothing
        return _conflict(ws, mode, patch, patch_path, files, problem)
    if mode == "worktree":
        return ApplyResult(True, mode, files=files,
                           message=f"applied to {ws.repo_path} ({len(files)} files, uncommitted)")
    user = ws.user.git
    user.run("commit", "-q", "--no-verify", "-m", message, "--only", "--", *files, env=user.identity())
    sha = user.text("rev-parse", "HEAD")
    return ApplyResult(True, mode, files=files, commit=sha,
                       message=f"committed {sha[:10]} on the current branch ({len(files)} files)")


def _without(ws: "Workspace", left_out: dict[str, str]) -> bytes:
    """The run's patch without the `left_out` paths."""
    from codeagent.workspace.core import _DIFF

    excluded = [f":(exclude,literal){p}" for p in left_out]
    return ws.wt.run(*_DIFF, "--binary", ws.base_commit, "--", ".", *excluded).out


def _safe_tree(ws: "Workspace") -> str:
    """The final tree without the unsafe paths (a scratch index, the run's untouched)."""
    tree = ws.final_tree()
    left_out = unsafe_paths(ws)
    if not left_out:
        return tree
    with tempfile.TemporaryDirectory(prefix="codeagent-index-") as tmp:
        runner = ws.wt.with_index(Path(tmp) / "index")
        runner.run("read-tree", tree)
        runner.run("rm", "--cached", "-q", "-r", "--ignore-unmatch", "--", *left_out)
        return runner.text("write-tree")


def _moved(ws: "Workspace") -> str | None:
    """Why committing now would land somewhere the user did not start from, or None."""
    head = ws.user.head
    if head != ws.start_head:
        return f"HEAD moved since the run started (was {str(ws.start_head)[:10]}, now {str(head)[:10]})"
    branch = ws.user.git.run("symbolic-ref", "-q", "HEAD", check=False).out.decode().strip()
    if ws.start_branch is not None and branch != ws.start_branch:
        return f"the branch changed since the run started (was {ws.start_branch or 'detached'}, now {branch or 'detached'})"
    return None


def _git_apply(ws: "Workspace", patch: bytes, *flags: str) -> str | None:
    """Run git apply in the user's repo root; None on success, else git's complaint."""
    with tempfile.NamedTemporaryFile(prefix="codeagent-", suffix=".patch") as fh:
        fh.write(patch)
        fh.flush()
        res = ws.user.git.run(*_APPLY, *flags, fh.name, check=False)
    return None if res.status == 0 else (res.err.strip() or f"git apply exited {res.status}")


def _dirty(ws: "Workspace", files: list[str]) -> list[str]:
    """Touched files with staged, unstaged or untracked changes in the user's tree."""
    out = ws.user.git.run("status", "--porcelain", "-z", "--untracked-files=all", "--", *files).out
    return [entry[3:].decode("utf-8", "surrogateescape") for entry in out.split(b"\0") if len(entry) > 3]


def _to_branch(ws: "Workspace", name: str, patch: bytes, patch_path: Path | None, files: list[str],
               message: str) -> ApplyResult:
    user = ws.user.git
    try:
        check_branch_name(ws, name)
    except ConfigError as exc:
        return _conflict(ws, "branch", patch, patch_path, files, exc.message)
    start = ws.start_head
    start_tree = user.text("rev-parse", f"{start}^{{tree}}") if start else EMPTY_TREE
    base_tree = user.text("rev-parse", f"{ws.base_commit}^{{tree}}")
    # The user's uncommitted changes at start (if any) stay visible as the base commit.
    parents = [ws.base_commit] if base_tree != start_tree else ([start] if start else [])
    sha = user.commit_tree(_safe_tree(ws), parents, message, env=user.identity())
    res = user.run("update-ref", f"refs/heads/{name}", sha, "", check=False)
    if res.status != 0:
        return _conflict(ws, "branch", patch, patch_path, files, f"could not create branch {name}: {res.err.strip()}")
    return ApplyResult(True, "branch", files=files, commit=sha, branch=name,
                       message=f"branch {name} created at {sha[:10]}; your checkout is unchanged")


def _conflict(ws: "Workspace", mode: str, patch: bytes, patch_path: Path | None, files: list[str],
              reason: str) -> ApplyResult:
    path = _write_patch(patch, patch_path or default_patch_path(ws.run_id))
    return ApplyResult(False, mode, path, conflict=reason, files=files,
                       message=f"nothing applied: {reason.splitlines()[0]}; the patch is saved at {path}")


def _write_patch(patch: bytes, path: Path) -> Path:
    path = Path(path).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(patch)
    except OSError as exc:
        raise WorkspaceError(f"cannot write the patch to {path}: {exc.strerror}",
                             hint="the worktree is kept; choose another --patch path") from None
    return path
