"""The reliability report over a batch's results (the latest record per attempt).

- pass@1: mean over tasks of (successful attempts / attempts).
- pass@k: the unbiased estimator 1 - C(n-c, k) / C(n, k) per task (n attempts, c
  successes), averaged over tasks; the chance that at least one of k attempts works.
- pass^k: C(c, k) / C(n, k) per task, averaged; the chance that k attempts all work
  (with n == k: the share of tasks whose every attempt succeeded). Reported for
  k = 1 .. the fewest attempts any task has.
- success by horizon: by the task's `horizon` label, else by measured steps; also by
  measured steps and by wall time alone.
- cost, tokens, steps and wall time per attempt: mean and median.
- the most common failure reasons; and, for bundled suites, attempts whose outcome
  differs from the task's `expect`.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from math import comb
from pathlib import Path
from typing import Any

from codeagent.batch.results import ResultStore
from codeagent.errors import ConfigError

STEP_BUCKETS = [(0, 0, "0"), (1, 1, "1"), (2, 3, "2-3"), (4, 7, "4-7"), (8, 15, "8-15"), (16, 31, "16-31"),
                (32, 10**9, "32+")]
TIME_BUCKETS = [(0, 10, "<10s"), (10, 60, "10s-1m"), (60, 300, "1-5m"), (300, 1800, "5-30m"),
                (1800, float("inf"), ">30m")]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k attempts drawn from n (c good) succeeds."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all of k attempts drawn from n (c good) succeed."""
    return comb(c, k) / comb(n, k) if k <= n else 0.0


def steps_bucket(steps: int) -> str:
    for low, high, label in STEP_BUCKETS:
        if low <= steps <= high:
            return label
    return "32+"


def time_bucket(seconds: float) -> str:
    for low, high, label in TIME_BUCKETS:
        if low <= seconds < high:
            return label
    return ">30m"


def expected_status(expect: str | None, attempt: int) -> str | None:
    """`expect` may list one status per attempt, cycling: "done,not_done"."""
    if not expect:
        return None
    parts = [p.strip() for p in expect.split(",") if p.strip()]
    return parts[(attempt - 1) % len(parts)] if parts else None


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "total": 0.0}
    return {"mean": round(statistics.fmean(values), 6), "median": round(statistics.median(values), 6),
            "total": round(sum(values), 6)}


def _bucket_rows(groups: dict[str, list[dict[str, Any]]], order: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for label, records in groups.items():
        per_task: dict[str, list[bool]] = defaultdict(list)
        for record in records:
            per_task[record["task_id"]].append(bool(record.get("success")))
        k = min(len(v) for v in per_task.values())
        wins = sum(1 for r in records if r.get("success"))
        rows.append({"bucket": label, "tasks": len(per_task), "attempts": len(records), "successes": wins,
                     "success_rate": round(wins / len(records), 4) if records else 0.0,
                     "k": k, "pass_hat_k": round(statistics.fmean(
                         pass_hat_k(len(v), sum(v), k) for v in per_task.values()), 4),
                     "median_steps": statistics.median(r.get("steps") or 0 for r in records)})
    return sorted(rows, key=lambda row: (order.get(row["bucket"], row["median_steps"]), row["bucket"]))


def _label_order(labels: set[str]) -> dict[str, float]:
    order = {}
    for label in labels:
        try:
            order[label] = float(label)
        except ValueError:
            pass
    return order


def build_report(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The report as plain data (what --json prints)."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_task[record["task_id"]].append(record)
    counts = {tid: (len(rs), sum(1 for r in rs if r.get("success"))) for tid, rs in by_task.items()}
    k_max = min((n for n, _ in counts.values()), default=0)
    report: dict[str, Any] = {"kind": "eval_report", "tasks": len(by_task), "attempts": len(records),
                              "successes": sum(c for _, c in counts.values()), "k": k_max}
    report["pass_at_1"] = round(statistics.fmean(c / n for n, c in counts.values()), 4) if counts else 0.0
    report["pass_at_k"] = {str(k): round(statistics.fmean(pass_at_k(n, c, k) for n, c in counts.values()), 4)
                           for k in range(1, k_max + 1)}
    report["pass_hat_k"] = {str(k): round(statistics.fmean(pass_hat_k(n, c, k) for n, c in counts.values()), 4)
                            for k in range(1, k_max + 1)}
    report.update(_horizon_sections(records))
    report["per_attempt"] = {
        "cost_usd": _stats([float(r.get("cost") or 0) for r in records]),
        "tokens": _stats([float((r.get("tokens") or {}).get("total", 0)) for r in records]),
        "steps": _stats([float(r.get("steps") or 0) for r in records]),
        "wall_time_s": _stats([float(r.get("wall_time") or 0) for r in records]),
        "cpu_time_s": _stats([float(r.get("cpu_time") or 0) for r in records]),
    }
    report["statuses"] = dict(Counter(r.get("status", "?") for r in records).most_common())
    failures = Counter(r.get("reason") or r.get("status") or "?" for r in records if not r.get("success"))
    report["failure_reasons"] = [{"reason": reason, "count": n} for reason, n in failures.most_common(10)]
    report["per_task"] = [_task_row(tid, rs) for tid, rs in sorted(by_task.items())]
    report["unexpected"] = [
        {"task_id": r["task_id"], "attempt": r["attempt"], "expected": expected_status(r.get("expect"), r["attempt"]),
         "status": r.get("status")}
        for r in sorted(records, key=lambda r: (r["task_id"], r["attempt"]))
        if expected_status(r.get("expect"), r["attempt"]) not in (None, r.get("status"))
    ]
    return report


def _horizon_sections(records: list[dict[str, Any]]) -> dict[str, Any]:
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_steps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_time: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        steps = steps_bucket(int(record.get("steps") or 0))
        label = record.get("horizon")
        by_label[str(label) if label is not None else f"steps {steps}"].append(record)
        by_steps[steps].append(record)
        by_time[time_bucket(float(record.get("wall_time") or 0))].append(record)
    step_order = {label: i for i, (_, _, label) in enumerate(STEP_BUCKETS)}
    time_order = {label: i for i, (_, _, label) in enumerate(TIME_BUCKETS)}
    return {
        "horizon_source": "label" if any(r.get("horizon") is not None for r in records) else "steps",
        "by_horizon": _bucket_rows(by_label, _label_order(set(by_label))),
        "by_steps": _bucket_rows(by_steps, step_order),
        "by_time": _bucket_rows(by_time, time_order),
    }


def _task_row(task_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    records = sorted(records, key=lambda r: r["attempt"])
    return {"task_id": task_id, "horizon": records[0].get("horizon"), "attempts": len(records),
            "successes": sum(1 for r in records if r.get("success")),
            "statuses": [r.get("status") for r in records],
            "median_steps": statistics.median(r.get("steps") or 0 for r in records),
            "cost_usd": round(sum(float(r.get("cost") or 0) for r in records), 6),
            "wall_time_s": round(sum(float(r.get("wall_time") or 0) for r in records), 3)}


def load_report(out_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Read DIR/results.jsonl and build the report; ConfigError if there is nothing to read."""
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: no such batch folder")
    store = ResultStore(out_dir)
    if not store.path.exists():
        raise ConfigError(f"{out_dir}: no results.jsonl here", hint="run `codeagent batch TASKS.jsonl --out DIR` first")
    records = list(store.latest().values())
    if not records:
        raise ConfigError(f"{store.path}: no readable results")
    report = build_report(records)
    report["dir"] = str(out_dir)
    return report, store.warnings


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, default=str)
