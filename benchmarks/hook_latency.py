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


def make_project(root: Path, name: str, modules: int, env: dict[str, str], staged: dict[str, str]) -> Path:
    """A committed project of `modules` modules with a test each, then `staged` staged."""
    repo = root / name
    (repo / "tests").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n')
    (repo / "README.md").write_text("# project\n")
    for i in range(modules):
        (repo / f"mod{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
        (repo / "tests" / f"test_mod{i}.py").write_text(
            f"from mod{i} import f{i}\n\n\ndef test_f{i}():\n    assert f{i}(1) == {i + 1}\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    for rel, text in staged.items():
        (repo / rel).write_text(text)
        subprocess.run(["git", "add", rel], cwd=repo, env=env, check=True)
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
    hook = [sys.executable, "-m", "codeagent.hooks"]
    cli = [sys.executable, "-m", "codeagent.cli.main", "precommit"]
    clean = make_project(tmp, "clean", args.modules, env, {})
    docs = make_project(tmp, "docs", args.modules, env, {"README.md": "# project\n\nmore docs\n"})
    touched = make_project(tmp, "touched", args.modules, env, {"mod3.py": "def f3(x):\n    return x + 3  # touched\n"})
    broken = make_project(tmp, "broken", args.modules, env, {"mod3.py": "def f3(x):\n    return x - 3\n"})
    bwrap, none = {**env, "CODEAGENT_SANDBOX": "bwrap"}, {**env, "CODEAGENT_SANDBOX": "none"}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_mod3.py"]
    # (name, command, repo, env, accepted exit codes, baseline name)
    scenarios = [
        ("baseline: python -c pass", [sys.executable, "-c", "pass"], clean, env, (0,), None),
        ("fast path, nothing staged (hook)", hook, clean, env, (0,), "python"),
        ("fast path, nothing staged (codeagent precommit)", cli, clean, env, (0,), "python"),
        ("fast path, only docs staged (hook)", hook, docs, env, (0,), "python"),
        ("baseline: python -m pytest tests/test_mod3.py", pytest, touched, env, (0,), None),
        ("check, 1 module staged, sandbox bwrap", hook, touched, bwrap, (0,), "pytest"),
        ("check, 1 module staged, sandbox none", hook, touched, none, (0,), "pytest"),
        ("check, 1 broken module staged (blocked), bwrap", hook, broken, bwrap, (1,), "pytest"),
    ]
    times: dict[str, list[float]] = {name: [] for name, *_ in scenarios}
    for round_ in range(args.runs + 1):  # interleaved, so load hits every scenario alike; round 0 warms up
        for name, cmd, repo, cmd_env, ok, _ in scenarios:
            elapsed = sh(cmd, repo, cmd_env, ok)
            if round_:
                times[name].append(elapsed)
    med = {name: statistics.median(values) for name, values in times.items()}
    base = {"python": med["baseline: python -c pass"], "pytest": med["baseline: python -m pytest tests/test_mod3.py"]}
    rows = [(name, med[name], base.get(b) if b else None, b or "") for name, *_, b in scenarios]

    print(f"hook latency, {args.modules} modules, median of {args.runs} runs, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    for name, seconds, base, base_name in rows:
        ratio = f"  ({seconds / base:.1f}x {base_name})" if base else ""
        print(f"  {name:<52} {seconds * 1000:8.0f} ms{ratio}")


if __name__ == "__main__":
    main()
