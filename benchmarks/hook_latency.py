"""Pre-commit hook latency: the fast path and a small project's check.

    python benchmarks/hook_latency.py [--runs 7] [--modules 20]

Builds a small Python project (N modules, a test file each, pytest) in a temp git
repo and times, as a real hook would run them (`python -m codeagent.hooks`, which
is what `codeagent hook install` writes; and `codeagent precommit`, the entry of
`.pre-commit-hooks.yaml`):

    fast path, nothing staged         one git call, then exit 0
    fast path, only docs staged       settings loaded, no check needed
    check, one module staged          scratch repo + affected tests, bwrap and none
    check, one broken module staged   + the re-run on HEAD that tells a regression

against baselines measured in the same run: a bare `python -c pass`, and running the
same affected tests directly with `python -m pytest` in the project (no hook). It
prints medians and the ratio hook / baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sh(cmd: list[str], cwd: Path, env: dict[str, str], ok=(0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def median_time(runs: int, cmd: list[str], cwd: Path, env: dict[str, str], ok=(0,)) -> float:
    sh(cmd, cwd, env, ok)  # warm the page cache
    return statistics.median(sh(cmd, cwd, env, ok) for _ in range(runs))


def make_project(root: Path, modules: int, env: dict[str, str]) -> Path:
    repo = root / "project"
    (repo / "tests").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n')
    (repo / "README.md").write_text("# project\n")
    for i in range(modules):
        (repo / f"mod{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
        (repo / "tests" / f"test_mod{i}.py").write_text(
            f"from mod{i} import f{i}\n\n\ndef test_f{i}():\n    assert f{i}(1) == {i + 1}\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--modules", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hook-latency-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    env.update(CODEAGENT_CONFIG_DIR=str(tmp / "config"), CODEAGENT_CACHE_DIR=str(tmp / "cache"),
               CODEAGENT_DATA_DIR=str(tmp / "data"), GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b", NO_COLOR="1")
    repo = make_project(tmp, args.modules, env)
    hook = [sys.executable, "-m", "codeagent.hooks"]
    cli = [sys.executable, "-m", "codeagent.cli.main", "precommit"]
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, env=env, check=True)  # noqa: E731
    rows: list[tuple[str, float, float | None, str]] = []

    python_bare = median_time(args.runs, [sys.executable, "-c", "pass"], repo, env)
    rows.append(("baseline: python -c pass", python_bare, None, ""))
    rows.append(("fast path, nothing staged (hook)", median_time(args.runs, hook, repo, env), python_bare, "python"))
    rows.append(("fast path, nothing staged (codeagent precommit)", median_time(args.runs, cli, repo, env),
                 python_bare, "python"))
    (repo / "README.md").write_text("# project\n\nmore docs\n")
    git("add", "README.md")
    rows.append(("fast path, only docs staged (hook)", median_time(args.runs, hook, repo, env), python_bare, "python"))
    git("reset", "-q", "README.md")

    (repo / "mod3.py").write_text("def f3(x):\n    return x + 3  # touched\n")
    git("add", "mod3.py")
    pytest_direct = median_time(args.runs, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                            "tests/test_mod3.py"], repo, env)
    rows.append(("baseline: python -m pytest tests/test_mod3.py", pytest_direct, None, ""))
    for sandbox in ("bwrap", "none"):
        senv = {**env, "CODEAGENT_SANDBOX": sandbox}
        rows.append((f"check, 1 module staged, sandbox {sandbox}", median_time(args.runs, hook, repo, senv),
                     pytest_direct, "pytest"))
    (repo / "mod3.py").write_text("def f3(x):\n    return x - 3\n")
    git("add", "mod3.py")
    broken = median_time(args.runs, hook, repo, {**env, "CODEAGENT_SANDBOX": "bwrap"}, ok=(1,))
    rows.append(("check, 1 broken module staged (blocked), bwrap", broken, pytest_direct, "pytest"))

    print(f"hook latency, {args.modules} modules, median of {args.runs} runs, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    for name, seconds, base, base_name in rows:
        ratio = f"  ({seconds / base:.1f}x {base_name})" if base else ""
        print(f"  {name:<52} {seconds * 1000:8.0f} ms{ratio}")


if __name__ == "__main__":
    main()
