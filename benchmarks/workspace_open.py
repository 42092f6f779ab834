"""How much Workspace.open / checkpoint / diff / close cost on a real project, against
the bare git commands a run cannot avoid (worktree add + remove of HEAD).

    python benchmarks/workspace_open.py [PROJECT_DIR]

PROJECT_DIR defaults to the Django sdist in benchmarks/.data (fetch it with
`pip download --no-deps --no-binary :all: django==5.2.8 -d benchmarks/.data` and unpack).
The project is copied to a temp git repo, dirtied (50 edits, 20 new files, 5 deletions),
then timed. Prints seconds and ratios; asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from codeagent.workspace import Workspace  # noqa: E402
from codeagent.workspace.core import find_user_repo, snapshot_tree  # noqa: E402


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    here = Path(__file__).resolve().parent
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else here / ".data" / "django-5.2.8"
    if not src.is_dir():
        sys.exit(f"no project at {src}; see the module docstring")
    tmp = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    os.environ.setdefault("CODEAGENT_CACHE_DIR", str(tmp / "cache"))
    repo = tmp / "repo"
    shutil.copytree(src, repo, ignore=shutil.ignore_patterns(".git"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
    py = sorted(repo.rglob("*.py"))
    for p in py[:50]:
        p.write_text(p.read_text(errors="replace") + "\n# edited\n")
    for i in range(20):
        (repo / f"new_{i}.py").write_text(f"x = {i}\n")
    for p in py[-5:]:
        p.unlink()
    files = sum(1 for _ in repo.rglob("*") if ".git" not in _.parts)

    def baseline() -> None:
        wt = tmp / "plain"
        git(repo, "worktree", "add", "-q", "--detach", str(wt), "HEAD")
        git(repo, "worktree", "remove", "--force", str(wt))

    counter = iter(range(1000))

    def ours() -> None:
        ws = Workspace.open(repo, run_id=f"b{next(counter)}")
        ws.close()

    t_base, t_ours = timed(baseline), timed(ours)
    user = find_user_repo(repo)
    t_snap = timed(lambda: snapshot_tree(user, "all"))
    ws = Workspace.open(repo, run_id="steps")
    for p in list(ws.path.rglob("*.py"))[:10]:
        p.write_text(p.read_text(errors="replace") + "\n# agent\n")
    t_diff = timed(ws.diff)
    t_ckpt = timed(lambda: ws.checkpoint("step"))
    t_roll = timed(ws.rollback)
    ws.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"project: {src.name}, {files} files, dirty: 50 edited, 20 new, 5 deleted")
    print(f"git worktree add+remove (baseline): {t_base:.3f} s")
    print(f"Workspace.open+close (snapshot all): {t_ours:.3f} s  ({t_ours / t_base:.2f}x baseline)")
    print(f"  of which the snapshot of your uncommitted work (copy index, add -A, write-tree): {t_snap:.3f} s")
    print(f"diff after 10 edits: {t_diff:.3f} s   checkpoint: {t_ckpt:.3f} s   rollback: {t_roll:.3f} s")


if __name__ == "__main__":
    main()
