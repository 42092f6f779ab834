"""What the bubblewrap sandbox costs per command.

200 runs each of `true` and `python3 -c pass` over a real git worktree: a plain
subprocess (the baseline) interleaved round-robin with the unsandboxed backend and the
bwrap backend (its cgroup limits, the default as root); then, in a pass of its own,
the baseline interleaved with bwrap on rlimits only. Prints median and p95 in ms, the
median added over that pass's baseline and the ratio, and the load average (figures
from a busy machine are not a quiet machine's). Target: <= 15 ms median added.

The two bwrap configurations get separate passes because alternating them command by
command slows both (about +7 ms each on cgroup v1 here), a cross effect a run never
sees: one run has one sandbox, and alternating two cgroup sandboxes costs nothing.

    python benchmarks/sandbox_overhead.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codeagent.sandbox import open_sandbox

COMMANDS = {"true": ["true"], "python3 -c pass": ["python3", "-c", "pass"]}


def make_worktree(base: Path) -> Path:
    repo, ws = base / "repo", base / "ws"
    repo.mkdir()
    run = lambda *args, cwd=repo: subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    run("add", "-A")
    run("-c", "user.email=b@b", "-c", "user.name=bench", "commit", "-qm", "init")
    run("worktree", "add", "-q", "--detach", str(ws), "HEAD")
    return ws


def timed(fns: dict[str, object], runs: int) -> dict[str, list[float]]:
    """Wall-clock ms per run of each callable, interleaved round-robin so that a change
    in machine load during the benchmark falls on every backend alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.95) - 1]


def _runner(box, argv: list[str], ws: Path, python: str):
    if box is not None:
        return lambda: box.run(argv)
    env = {"PATH": f"{python}:/usr/bin:/bin"}
    return lambda: subprocess.run(argv, cwd=ws, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    base = Path(tempfile.mkdtemp(prefix="codeagent-bench-"))
    try:
        ws = make_worktree(base)
        nocg = base / "nocgroup.toml"
        nocg.write_text('extends = "default"\n[limits]\nuse_cgroup = false\n')
        cgroup_box = open_sandbox("bwrap", ws, scratch=base / "s1")
        passes = [
            {"plain subprocess": None, "none backend": open_sandbox("none", ws, scratch=base / "s0"),
             "bwrap backend": cgroup_box},
            {"plain subprocess": None,
             "bwrap, rlimits only": open_sandbox("bwrap", ws, scratch=base / "s2", profile=str(nocg))},
        ]
        python = str(Path(sys.executable).resolve().parent)
        print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
        print(f"runs per cell: {runs}; limits in the bwrap backend: "
              f"{'cgroup' if cgroup_box.cgroup else 'rlimits'}; python3 from {python}")
        print(f"{'command':<18}{'backend':<22}{'median ms':>10}{'p95 ms':>9}{'added ms':>10}{'ratio':>7}")
        for label, argv in COMMANDS.items():
            for backends in passes:
                fns = {name: _runner(box, argv, ws, python) for name, box in backends.items()}
                results = timed(fns, runs)
                baseline = statistics.median(results["plain subprocess"])
                for name, samples in results.items():
                    median = statistics.median(samples)
                    print(f"{label:<18}{name:<22}{median:>10.2f}{p95(samples):>9.2f}"
                          f"{median - baseline:>10.2f}{median / baseline:>7.2f}")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
