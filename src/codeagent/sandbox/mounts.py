"""The filesystem a bwrap sandbox sees, as bwrap arguments, in mount order:

    system dirs (read-only)  → /proc, /dev, private /tmp, fresh HOME
    → Python and PATH dirs (read-only) → git metadata (read-only)
    → workspace (writable) → the workspace's .git on top (read-only)
    → the checkout's project environments (read-only, inside the workspace)
    → scratch and profile rw_bind (writable) → the root remounted read-only

Nothing else of the host exists inside: not the user's home, not their checkout (only
its .git, read-only, when the workspace is a worktree of it, so `git status` works,
and the ignored environments the profile names in `project_envs`: a virtualenv or
node_modules that git does not carry into the worktree, bound read-only both inside
the workspace and at their own path, where a virtualenv's scripts point).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from codeagent.errors import ConfigError
from codeagent.sandbox.gitconfig import overlay_args
from codeagent.sandbox.hardening import proc_args, root_only_masks
from codeagent.sandbox.profiles import Profile

SANDBOX_HOME = "/tmp/home"


def _covered(path: Path, bound: list[Path]) -> bool:
    return any(path == top or path.is_relative_to(top) for top in bound)


class MountPlan:
    """Accumulates bwrap mount arguments, skipping paths already visible."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.bound: list[Path] = []  # destinations bound read-only so far
        self.links: set[Path] = set()  # top-level symlinks recreated (/bin -> usr/bin)

    def ro(self, path: str | Path) -> bool:
        """Bind `path` read-only at the same place; a top-level symlink is recreated as a symlink."""
        path = Path(path)
        if path.is_symlink() and path.parent == Path("/"):
            if path not in self.links:
                self.args += ["--symlink", os.readlink(path), str(path)]
                self.links.add(path)
            return True
        if not path.exists():
            return False
        if _covered(path, self.bound):  # visible through an earlier bind, symlinks and all
            return True
        self.args += ["--ro-bind", str(path.resolve()), str(path)]
        self.bound.append(path)
        return True

    def rw(self, path: Path) -> None:
        self.args += ["--bind", str(path), str(path)]


def git_metadata(workspace: Path) -> list[Path]:
    """Git dirs outside the workspace that its `.git` file points to (worktree, common dir)."""
    dotgit = workspace / ".git"
    if not dotgit.is_file():
        return []
    text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return []
    gitdir = (workspace / text[len("gitdir:"):].strip()).resolve()
    found = [gitdir]
    commondir = gitdir / "commondir"
    if commondir.is_file():  # the common dir first: it usually holds the worktree's gitdir
        found.insert(0, (gitdir / commondir.read_text().strip()).resolve())
    return [p for p in found if p.is_dir() and not p.is_relative_to(workspace)]


def source_checkout(workspace: Path) -> Path | None:
    """The user's checkout the workspace is a linked worktree of, or None."""
    for meta in git_metadata(workspace):
        if meta.name == ".git" and (meta / "worktrees").is_dir():
            return meta.parent
    return None


def project_envs(names: list[str], workspace: Path, checkout: Path | None = None) -> list[tuple[Path | None, Path]]:
    """(directory to bind from the user's checkout, or None when the workspace has its
    own; its place in the workspace) for each named environment present."""
    checkout = checkout or source_checkout(workspace)
    found: list[tuple[Path | None, Path]] = []
    for name in names:
        inside = workspace / name
        if inside.is_dir() and any(inside.iterdir()):
            found.append((None, inside))
            continue
        source = checkout / name if checkout else None
        if source is not None and source.is_dir() and not source.is_symlink():
            found.append((source, inside))  # an empty mount point left by an earlier sandbox is fine
    return found


def venv_home(env: Path, *, workspace: Path | None = None, checkout: Path | None = None) -> Path | None:
    """The base interpreter's prefix a virtualenv was made from (its pyvenv.cfg `home`),
    or None unless it passes `interpreter_prefix`: pyvenv.cfg is repository content."""
    try:
        cfg = env / "pyvenv.cfg"
        if not cfg.is_file() or cfg.stat().st_size > 64_000:
            return None
        for line in cfg.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                return interpreter_prefix(value.strip(), [p for p in (workspace, checkout, env) if p])
    except OSError:
        return None
    return None


def interpreter_prefix(home: str, untrusted: list[Path]) -> Path | None:
    """The prefix above `home` (a Python install's bin/) when it is a real interpreter
    install: an absolute path, not `/`, not the user's home or above it, not inside a
    tree the repository controls, with bin/python3* and lib*/python3.*/os.py in it."""
    if not home.startswith("/") or "\0" in home:
        return None
    bindir = Path(os.path.realpath(home))
    prefix = bindir.parent
    user_home = Path(os.path.realpath(os.path.expanduser("~")))
    if prefix == Path("/") or bindir.name != "bin" or user_home == prefix or user_home.is_relative_to(prefix):
        return None
    for tree in untrusted:
        real = Path(os.path.realpath(tree))
        if prefix == real or prefix.is_relative_to(real) or real.is_relative_to(prefix):
            return None
    if not any(p.is_file() for p in bindir.glob("python3*")):
        return None
    if not any(prefix.glob("lib*/python3*/os.py")):
        return None
    return prefix


def python_dirs() -> list[Path]:
    """The running interpreter's prefixes (venv and base install)."""
    dirs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(dirs)


def host_path_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p.startswith("/")]


def plan_mounts(profile: Profile, workspace: Path, scratch: Path, checkout: Path | None = None,
                private: Path | None = None) -> tuple[list[str], list[str]]:
    """(bwrap mount args, PATH entries for inside the sandbox); `checkout`: see `project_envs`;
    `private`: a host folder for the sanitised git config copies (see `gitconfig`)."""
    plan = MountPlan()
    fs = profile.filesystem
    for path in fs.ro_bind:
        if not plan.ro(path):
            raise ConfigError(f"sandbox profile {profile.source or profile.name}: filesystem.ro_bind path "
                              f"{path} does not exist", hint="move it to ro_bind_try if it is optional")
    for path in fs.ro_bind_try:
        plan.ro(path)
    empty = None
    if private is not None:
        empty = private / "empty"
        empty.mkdir(exist_ok=True)
    plan.args += root_only_masks([str(p) for p in plan.bound], empty_dir=empty)
    plan.args += ["--proc", "/proc", *proc_args(), "--dev", "/dev", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME]
    home = Path(os.path.expanduser("~"))
    for rel in fs.home_ro_try:
        if (home / rel).exists():
            plan.args += ["--ro-bind", str((home / rel).resolve()), f"{SANDBOX_HOME}/{rel}"]
    path_entries: list[str] = []
    if fs.bind_python:
        for prefix in python_dirs():
            plan.ro(prefix)
            path_entries.append(str(prefix / "bin"))
    for entry in host_path_dirs():
        if fs.bind_path and entry.is_dir():
            plan.ro(entry)
        if str(entry) not in path_entries:
            path_entries.append(str(entry))
    envs = project_envs(fs.project_envs, workspace, checkout)
    for source, inside in envs:
        if source is not None:
            plan.ro(source)  # at its own path too: a virtualenv's scripts name it there
        home = venv_home(source or inside, workspace=workspace, checkout=checkout or source_checkout(workspace))
        if home is not None:
            plan.ro(home)
    for meta in git_metadata(workspace):
        plan.ro(meta)
    plan.rw(workspace)
    if (workspace / ".git").exists():
        plan.args += ["--ro-bind", str(workspace / ".git"), str(workspace / ".git")]
    if private is not None:
        own = [workspace / ".git"] if (workspace / ".git").is_dir() else []
        plan.args += overlay_args([*git_metadata(workspace), *own], private)
    for source, inside in envs:
        if source is not None:
            plan.args += ["--ro-bind", str(source), str(inside)]
        for name in ("bin", ".bin"):  # a virtualenv's bin/, node_modules/.bin
            if ((source or inside) / name).is_dir():
                path_entries.insert(0, str(inside / name))
    plan.rw(scratch)
    for path in fs.rw_bind:
        if Path(path).exists():
            plan.rw(Path(path).resolve())
    plan.args += ["--remount-ro", "/"]
    return plan.args, path_entries
