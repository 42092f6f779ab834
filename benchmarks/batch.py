"""Batch throughput against the ideal set by a model's latency.

    python benchmarks/batch.py [--tasks 50] [--steps 20] [--delay 0.3] [--workers 1,4,8]

A local OpenAI-compatible server (tests/openai_server.py) answers every request after
a fixed delay. Each task is a tiny repo with one bug; the scripted answers make every
task take exactly --steps model calls (plan, reads, the fix, finish), so one attempt
can never be faster than steps x delay. For each worker count the same tasks run
through the real `codeagent batch` machinery (local engine, real workspaces,
bubblewrap sandbox, tests before and after), and the script prints:

    throughput   tasks/s measured, and the ideal W / (steps x delay)
    efficiency   measured / ideal (target at 8 workers on 2 cores: >= 0.8)
    bound        the efficiency of a harness with no overhead at all: tasks come in whole
                 rounds, so 50 tasks on 8 workers take 7 rounds (ceil(50/8) x steps x delay)
    overhead     harness time per model step: (attempt wall time - steps x delay) / steps
    cpu/step     CPU seconds an attempt's worker process burns per step (agent loop, model
                 client, git; the two sandboxed test runs are not counted, ~0.1 s a task)
    server+engine  CPU of this process per step: the fake model server's threads and the
                 engine's loop (a real model server would not share these 2 cores)
    model        the efficiency an idle machine would give, from that CPU cost:
                 min(W / (steps x delay + cpu), cores / cpu) / ideal. The measured
                 figure is the one that counts; the model says what load did to it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
# The local engine's forkserver re-runs this script's top level in every attempt
# (spawn semantics), so heavy imports (the test server pulls in pytest) stay in functions.

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\nif __name__ == '__main__':\n    test_add()\n    print('1 passed, 0 failed')\n"


def make_tasks(root: Path, count: int, steps: int) -> Path:
    tasks = []
    for i in range(count):
        repo = root / "repos" / f"t{i:03d}"
        repo.mkdir(parents=True)
        (repo / "calc.py").write_text(f'"""Task {i}."""\n\n\n' + BUGGY)
        (repo / "test_calc.py").write_text(TEST)
        tasks.append({"id": f"t{i:03d}", "repo": str(repo), "instruction": "Fix add in calc.py.",
                      "test_cmd": "python test_calc.py", "max_steps": steps + 2, "horizon": str(steps),
                      "timeout": 300})
    path = root / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path


def responder(steps: int):
    """Plan first; then reads until the fix; then finish: exactly `steps` calls."""
    from openai_server import Turn

    def answer(request) -> Turn:
        body = request.body or {}
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if tools == ["update_plan"]:
            return Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add", "files": ["calc.py"],
                                                                 "done_when": "test_add passes"}]})])
        done = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        if done < steps - 3:
            return Turn(tool_calls=[("read_file", {"path": "calc.py"})])
        if done == steps - 3:
            return Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": BUGGY, "new": FIXED})])
        return Turn(tool_calls=[("finish", {"summary": "add fixed"})])

    return answer


def run_one_config(tasks_file: Path, out: Path, workers: int, base_url: str) -> tuple[float, list[dict]]:
    from codeagent.batch.jobs import run_batch
    from codeagent.batch.local import LocalEngine
    from codeagent.batch.tasks import load_tasks
    from codeagent.batch.worker import TaskRunner

    tasks = load_tasks(tasks_file).tasks
    runner = TaskRunner(flags={"model": "bench-model", "base_url": base_url})
    started = time.monotonic()
    outcome = run_batch(tasks, out, LocalEngine(workers=workers), runner)
    return time.monotonic() - started, outcome.records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20, help="model calls per task (>= 3; agents take 10-40)")
    parser.add_argument("--delay", type=float, default=0.3, help="seconds the server takes per answer")
    parser.add_argument("--workers", default="1,4,8")
    args = parser.parse_args()
    from openai_server import OpenAIServer

    os.environ.setdefault("OPENAI_API_KEY", "benchmark-key")
    os.environ["CODEAGENT_MAX_RETRIES"] = "0"
    counts = [int(w) for w in args.workers.split(",")]
    root = Path(tempfile.mkdtemp(prefix="codeagent-bench-batch-"))
    tasks_file = make_tasks(root, args.tasks, args.steps)
    per_task_ideal = args.steps * args.delay
    print(f"{args.tasks} tasks x {args.steps} model calls, {args.delay * 1000:.0f} ms per call "
          f"(ideal per task {per_task_ideal:.1f} s); {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'workers':>7} {'wall s':>8} {'tasks/s':>8} {'ideal/s':>8} {'efficiency':>10} {'bound':>6} "
          f"{'ok':>5} {'overhead/step ms':>17} {'attempt s':>10} {'cpu/step ms':>12} {'server+engine cpu/step ms':>26} {'model':>6}")
    with OpenAIServer(responder=responder(args.steps), delay=args.delay) as server:
        warm = make_tasks(root / "warmup", 1, args.steps)  # starts the forkserver; not counted
        run_one_config(warm, root / "out-warmup", 1, server.base_url)
        for workers in counts:
            parent_cpu = time.process_time()
            wall, records = run_one_config(tasks_file, root / f"out-w{workers}", workers, server.base_url)
            parent_cpu = time.process_time() - parent_cpu  # the model server's threads + the engine loop
            ok = sum(1 for r in records if r.get("success"))
            measured = len(records) / wall
            ideal = workers / per_task_ideal
            overheads = [(r["wall_time"] - r["steps"] * args.delay) / r["steps"] for r in records if r.get("steps")]
            cpu = statistics.median(r.get("cpu_time") or 0 for r in records)
            modelled = min(workers / (per_task_ideal + cpu), (os.cpu_count() or 1) / max(cpu, 1e-9)) / ideal
            bound = len(records) / (math.ceil(len(records) / workers) * per_task_ideal) / ideal
            print(f"{workers:>7} {wall:>8.1f} {measured:>8.2f} {ideal:>8.2f} {measured / ideal:>10.2f} {bound:>6.2f} "
                  f"{ok:>5} {1000 * statistics.median(overheads or [0]):>17.0f} "
                  f"{statistics.median(r['wall_time'] for r in records):>10.2f} "
                  f"{1000 * cpu / args.steps:>12.0f} {1000 * parent_cpu / (len(records) * args.steps):>26.0f} "
                  f"{modelled:>6.2f}", flush=True)
            bad = [r for r in records if not r.get("success")]
            if bad:
                print(f"        not successful: {len(bad)}, e.g. {bad[0]['task_id']}: {bad[0]['status']} "
                      f"{bad[0]['reason']} {str(bad[0].get('error'))[:200]}")
    print(f"load average after: {os.getloadavg()[0]:.1f}; work folder: {root}")


if __name__ == "__main__":
    main()
