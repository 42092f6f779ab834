"""Best-of-n: N independent attempts at the same instruction, each in its own
workspace and session; the one whose tests pass with the fewest regressions and the
smallest diff is applied. Trades compute for reliability."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from codeagent.events import EventBus
from codeagent.models.base import Model
from codeagent.runner import RunRequest, RunResult, apply_result, run_task
from codeagent.workspace import Workspace


def score(result: RunResult) -> tuple:
    """Lower is better: success first, then fewer regressions, failures, changed lines."""
    failed = (result.tests_after or {}).get("failed", 0) + (result.tests_after or {}).get("error", 0)
    changed = sum(1 for line in result.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    return (result.status != "done", len(result.regressions), failed, changed, result.steps)


def _forward(bus: EventBus | None, attempt: int) -> EventBus:
    inner = EventBus()
    if bus is not None:
        inner.subscribe(lambda e: bus.emit(e.kind, attempt=attempt, **e.data) if e.kind != "final" else
                        bus.emit("attempt_final", attempt=attempt, **e.data))
    return inner


def run_best_of(request: RunRequest, attempts: int, model_for: Callable[[int], Model | None] | None = None,
                *, parallel: int = 2) -> RunResult:
    """Run `attempts` independent attempts (up to `parallel` at once) and apply the best.
    `model_for(i)` gives attempt i its model; by default each opens its own from settings."""
    single = request.settings.model_copy(update={"attempts": 1})

    def one(i: int) -> RunResult:
        model = model_for(i) if model_for else request.model
        sub = dataclasses.replace(request, settings=single, model=model, apply="none", keep_workspace=True,
                                  confirm=None, bus=_forward(request.bus, i))
        return run_task(sub)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, attempts))) as pool:
        results = list(pool.map(one, range(attempts)))
    ranked = sorted(range(attempts), key=lambda i: score(results[i]))
    best = results[ranked[0]]
    best.attempts = [_describe(i, r, i == ranked[0]) for i, r in enumerate(results)]
    best.summary = f"attempt {ranked[0] + 1} of {attempts} chosen: {_why(results, ranked)}. {best.summary}"
    try:
        if best.status == "done" and best.diff and request.apply != "none":
            apply_result(request, Workspace.reopen(request.repo, best.run_id), best, request.bus or EventBus())
    finally:
        for r in results:
            if r.run_id:
                Workspace.reopen(request.repo, r.run_id).close()
    if request.bus:
        request.bus.emit("best_of", chosen=ranked[0], attempts=best.attempts)
    return best


def _describe(i: int, r: RunResult, chosen: bool) -> dict[str, Any]:
    s = score(r)
    return {"attempt": i + 1, "chosen": chosen, "status": r.status, "reason": r.reason, "regressions": s[1],
            "failed": s[2], "changed_lines": s[3], "steps": r.steps, "cost": r.usage.cost,
            "session_id": r.session_id}


def _why(results: list[RunResult], ranked: list[int]) -> str:
    best = score(results[ranked[0]])
    if len(ranked) == 1:
        return "the only attempt"
    runner_up = score(results[ranked[1]])
    labels = ["its tests pass", "fewer regressions", "fewer failing tests", "a smaller diff", "fewer steps"]
    for label, a, b in zip(labels, best, runner_up):
        if a != b:
            return label if label != "its tests pass" else "its tests pass and the runner-up's do not"
    return "tied with the runner-up; the first one is kept"


