"""Real tasks on real projects, end to end, judged independently.

    python tests/data/fetch_sdists.py          # once: the pinned PyPI sdists
    python benchmarks/realtasks.py [--only ID ...] [--sandbox bwrap|none] [--keep]

Each task (tests/realtasks_kit/tasks.py) is a real PyPI project (more-itertools, toolz,
inflection, idna, tabulate) copied into a git repo with something cut out: a function
body, several of them, a multi-file change, or an injected bug. A scripted model that
reads what the tools answer (tests/realtasks_kit/agent.py) drives `codeagent`'s real
loop through a local OpenAI-compatible server, with the real sandbox and apply-back.

Per task the script prints codeagent's outcome (status, exit code, reason), steps and
wall time, and the independent verdict: the run's final diff applied to a clean clone
of the task repo, the project's own tests run there with plain pytest outside codeagent.

    solved          done, exit 0, non-empty diff, and the project's tests all pass
    FALSE SUCCESS   done while the project's tests still fail (the worst outcome)
    refused (ok)    a negative task: not done, exit 1, and its target test really fails
    NOT SOLVED      anything else

Negative tasks have a model that finishes early or gives up; codeagent must not say done.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def verdict(outcome) -> str:
    if outcome.false_success:
        return "FALSE SUCCESS"
    if outcome.task.expect == "done":
        return "solved" if outcome.solved else "NOT SOLVED"
    return "refused (ok)" if outcome.honest_refusal else "NOT REFUSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="task ids to run (default: all)")
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--keep", action="store_true", help="keep the task repos and session logs")
    parser.add_argument("--moves", action="store_true", help="print each task's tool calls")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="realtasks-"))
    for var, sub in (("CODEAGENT_CONFIG_DIR", "config"), ("CODEAGENT_DATA_DIR", "data"),
                     ("CODEAGENT_CACHE_DIR", "cache")):
        os.environ[var] = str(tmp / sub)  # the user's own config plays no part
    from realtasks_kit.harness import run_one
    from realtasks_kit.tasks import TASKS

    tasks = [t for t in TASKS if args.only is None or t.id in args.only]
    print(f"{'task':38} {'project':15} {'kind':8} {'verdict':14} {'status':8} {'exit':>4} {'reason':18} "
          f"{'steps':>5} {'calls':>5} {'wall s':>7} {'diff':>5} {'fail before->after':>18}")
    outcomes = []
    for task in tasks:
        outcome = run_one(task, tmp / task.id, sandbox=args.sandbox)
        outcomes.append(outcome)
        calls = sum(1 for name, _ in outcome.moves if name != "text")
        print(f"{task.id:38} {task.project:15} {task.kind:8} {verdict(outcome):14} {outcome.status:8} "
              f"{outcome.exit_code:>4} {outcome.reason:18} {outcome.steps:>5} {calls:>5} {outcome.wall_time:>7.1f} "
              f"{outcome.diff_lines:>5} {len(outcome.failing_before):>9} -> {len(outcome.failing_after):<6}",
              flush=True)
        if outcome.agent_error:
            print(f"    the model got lost: {outcome.agent_error[:300]}")
        if outcome.failing_after and outcome.task.expect == "done":
            print(f"    still failing: {', '.join(sorted(outcome.failing_after)[:5])}")
        if task.blocked_by:
            print(f"    blocked by: {task.blocked_by}")
        if args.moves:
            for name, arguments in outcome.moves:
                print(f"      {name} {arguments[:120]}")
    positive = [o for o in outcomes if o.task.expect == "done"]
    negative = [o for o in outcomes if o.task.expect != "done"]
    print(f"\nsolved: {sum(o.solved for o in positive)} / {len(positive)}   "
          f"negative tasks refused honestly: {sum(o.honest_refusal for o in negative)} / {len(negative)}   "
          f"false successes: {sum(o.false_success for o in outcomes)}")
    print(f"steps per solved task: {[o.steps for o in positive]}   "
          f"total wall time: {sum(o.wall_time for o in outcomes):.0f} s")
    if args.keep:
        print(f"task repos and session logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
