"""Prompt growth over a long run: a scripted 200-step run through the real loop
(real worktree, real edits, real commands), once with structured compaction and
once keeping the whole history (what most agents do). Prints total prompt tokens
sent, the ratio, and the share of each request that is a stable prefix (identical
to the start of the previous request, so provider-side prompt caching can hit).

    python benchmarks/context_growth.py [--steps 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from codeagent.config import load_settings
from codeagent.context import count_tokens
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task


def make_repo(root: Path) -> Path:
    repo = root / "proj"
    (repo / "pkg").mkdir(parents=True)
    for i in range(8):
        body = "\n".join(f"def f{i}_{j}(x):\n    return x + {j}\n" for j in range(60))
        (repo / "pkg" / f"mod{i}.py").write_text(body)
    (repo / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "i"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def script(steps: int) -> list:
    out = [tool("update_plan", steps=[{"what": "walk the code base and tidy it"}])]
    for i in range(steps - 2):
        kind = i % 3
        if kind == 0:
            out.append(tool("read_file", path=f"pkg/mod{i % 8}.py"))
        elif kind == 1:
            out.append(tool("run_command", command=f"grep -c def pkg/mod{i % 8}.py && echo step {i}"))
        else:
            n, j = (i // 3) % 8, (i // 3) % 60
            out.append(tool("edit_file", path=f"pkg/mod{n}.py", old=f"def f{n}_{j}(x):\n",
                            new=f"def f{n}_{j}(x):  # checked at step {i}\n"))
    out.append(tool("finish", summary="done"))
    return out


def run(repo: Path, steps: int, window: int, compact_at: float) -> list[list]:
    settings = load_settings(repo, {"sandbox": "none", "max_steps": steps + 5, "max_tokens": 10**10, "context_window": window,
                                    "compact_at": compact_at, "repo_map_tokens": 1024,
                                    "test_cmd": "python -m pytest -q test_ok.py"}).settings
    model = ScriptedModel(script(steps), context_window=window)
    result = run_task(RunRequest(repo=repo, instruction="walk the code base and tidy it", settings=settings,
                                 model=model, apply="none", session_root=repo.parent / "sessions"))
    assert result.steps == steps, (result.status, result.reason, result.steps)
    return [call["messages"] for call in model.calls]


def measure(requests: list[list]) -> tuple[int, list[float]]:
    cache: dict[int, int] = {}

    def tok(m) -> int:
        key = id(m)
        if key not in cache:
            cache[key] = count_tokens((m.content or "") + "".join(c.arguments for c in m.tool_calls)) + 4
        return cache[key]

    total, shares, prev = 0, [], None
    for msgs in requests:
        size = sum(tok(m) for m in msgs)
        total += size
        if prev is not None:
            same = 0
            for a, b in zip(prev, msgs):
                if a.to_dict() != b.to_dict():
                    break
                same += tok(b)
            shares.append(same / size)
        prev = msgs
    return total, shares


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--window", type=int, default=32_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ctxgrowth-"))
    try:
        full = run(make_repo(tmp / "a"), args.steps, 10_000_000, 1.0)
        compacted = run(make_repo(tmp / "b"), args.steps, args.window, 0.6)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    full_total, full_shares = measure(full)
    comp_total, comp_shares = measure(compacted)
    print(f"steps: {args.steps} model calls (incl. planner), window {args.window:,}, compact at 60%")
    print(f"whole history : {full_total:>12,} prompt tokens in all; last request {measure(full[-1:])[0]:,}")
    print(f"compacted     : {comp_total:>12,} prompt tokens in all; largest request "
          f"{max(measure([r])[0] for r in compacted):,}")
    print(f"ratio         : {full_total / comp_total:.2f}x fewer prompt tokens (target >= 3x)")
    print(f"stable prefix : mean {statistics.mean(comp_shares):.1%}, median {statistics.median(comp_shares):.1%}, "
          f"min {min(comp_shares):.1%} of each request (whole history: mean {statistics.mean(full_shares):.1%}); "
          "target >= 80%")


if __name__ == "__main__":
    main()
