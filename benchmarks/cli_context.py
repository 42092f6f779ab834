"""`codeagent context` and `codeagent map` as processes, on a warm cache: where the
wall time of one command goes (interpreter, imports, building the CLI, opening the
cache, refreshing the index, ranking) and the end-to-end time through the CLI.

    python benchmarks/cli_context.py [--root DIR] [--repeat N]

Default tree: Django 5.2.8 from its sdist (prepared as in benchmarks/repomap.py; used
for speed only, never for tuning the ranking). Each figure is the median of N runs
of a fresh process; cpu is user+sys of that process. A shared machine's load moves
wall times (printed); cpu seconds are steadier.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUERY = "QuerySet.bulk_create ignores batch_size when update_conflicts is set"
BIN = Path(sys.executable).parent / "codeagent"

PHASES = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import codeagent.cli.main as m
    t1 = time.perf_counter()
    m.build_app()
    t2 = time.perf_counter()
    from codeagent.context import ContextEngine
    from pathlib import Path
    t3 = time.perf_counter()
    engine = ContextEngine(Path(sys.argv[1]))
    t4 = time.perf_counter()
    engine.refresh()
    t5 = time.perf_counter()
    engine.rank(sys.argv[2], top_k=10, refresh=False)
    t6 = time.perf_counter()
    print(json.dumps({"import cli.main (typer)": t1 - t0, "build_app: import every command module": t2 - t1,
                      "import codeagent.context": t3 - t2, "open the cache": t4 - t3,
                      "refresh: list, stat, load records": t5 - t4, "rank (corpus, graph, scores)": t6 - t5}))
""")

ALONE = textwrap.dedent("""
    import sys, typer
    from codeagent.cli import context_cmd
    app = typer.Typer(add_completion=False)
    context_cmd.register(app)
    @app.command("noop")
    def noop() -> None:
        pass
    app(sys.argv[1:])
""")


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_of(cmd: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    runs = [timed(cmd, cwd) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def default_root() -> Path:
    sys.path.insert(0, str(HERE))
    from repomap import prepare  # the Django sdist as a git repo

    return prepare()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="repository to measure (default: Django 5.2.8)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = (args.root or default_root()).resolve()
    py = sys.executable
    cli = [str(BIN)] if BIN.exists() else [py, "-m", "codeagent.cli.main"]
    subprocess.run([*cli, "context", QUERY, "--json", "--top-k", "10"], cwd=root, check=True, capture_output=True)
    rows = [
        ("python -c pass (interpreter)", [py, "-c", "pass"]),
        ("codeagent --help", [*cli, "--help"]),
        ("codeagent context Q --json (warm)", [*cli, "context", QUERY, "--json", "--top-k", "10"]),
        ("codeagent map --query Q (warm)", [*cli, "map", "--query", QUERY]),
        ("context command alone (typer + context_cmd)", [py, "-c", ALONE, "context", QUERY, "--json", "--top-k", "10"]),
    ]
    load = os.getloadavg()[0]
    files = len(subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.splitlines())
    print(f"{root.name}: {files} files; load average {load:.2f} on {os.cpu_count()} cores; median of {args.repeat}")
    for label, cmd in rows:
        wall, cpu = median_of(cmd, root, args.repeat)
        print(f"  {label:46} {wall:6.3f} s wall   {cpu:6.3f} s cpu")
    phases = [json.loads(subprocess.run([py, "-c", PHASES, str(root), QUERY], cwd=root, check=True,
                                        capture_output=True, text=True).stdout) for _ in range(args.repeat)]
    print("where one warm `codeagent context` spends its time (in process, median):")
    for key in phases[0]:
        print(f"  {key:46} {statistics.median(p[key] for p in phases):6.3f} s")


if __name__ == "__main__":
    if shutil.which("git") is None:
        sys.exit("git is needed")
    main()
