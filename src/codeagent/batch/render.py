"""Rich renderings of batch summaries and eval reports, for people (stderr/tty).

Pure functions from data to rich renderables; printing is the caller's business.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from codeagent.batch.tasks import LineError

STATUS_STYLE = {"done": "green", "not_done": "yellow", "error": "red", "crashed": "bold red",
                "timeout": "magenta", "interrupted": "dim"}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def line_errors_text(errors: list[LineError], path: str) -> Text:
    text = Text()
    for err in errors:
        text.append(f"{path}:{err.line}: ", style="bold")
        text.append(f"{err.message}\n")
    return text


def results_table(records: list[dict[str, Any]], title: str = "batch results") -> Table:
    """One row per task: attempts, successes, statuses, steps, tokens, cost, time."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: (r["task_id"], r["attempt"])):
        grouped.setdefault(record["task_id"], []).append(record)
    table = Table(title=title, title_justify="left")
    for column in ("task", "ok", "status", "reason", "steps", "tokens", "cost $", "time s"):
        table.add_column(column, justify="right" if column in {"ok", "steps", "tokens", "cost $", "time s"} else "left")
    for task_id, rows in grouped.items():
        wins = sum(1 for r in rows if r.get("success"))
        statuses = Text(" ").join(Text(r.get("status", "?"), style=STATUS_STYLE.get(r.get("status"), "")) for r in rows)
        reasons = ", ".join(sorted({r.get("reason") or "" for r in rows} - {""}))
        table.add_row(task_id, f"{wins}/{len(rows)}", statuses, reasons[:60],
                      str(sum(r.get("steps") or 0 for r in rows)),
                      str(sum((r.get("tokens") or {}).get("total", 0) for r in rows)),
                      f"{sum(float(r.get('cost') or 0) for r in rows):.4f}",
                      f"{sum(float(r.get('wall_time') or 0) for r in rows):.1f}")
    return table


def report_renderable(report: dict[str, Any]) -> Group:
    """The whole eval report: headline, horizon table, cost table, failure reasons."""
    parts: list[Any] = [
        Text(f"{report['tasks']} tasks, {report['attempts']} attempts, {report['successes']} succeeded"),
        Text(f"pass@1  {_pct(report['pass_at_1'])}", style="bold"),
        Text("pass@k  " + "  ".join(f"k={k}: {_pct(v)}" for k, v in report["pass_at_k"].items())
             + "   (at least one of k attempts succeeds)"),
        Text("pass^k  " + "  ".join(f"k={k}: {_pct(v)}" for k, v in report["pass_hat_k"].items())
             + "   (all k attempts succeed)"),
    ]
    parts.append(_bucket_table(report["by_horizon"], f"success by horizon ({report['horizon_source']})"))
    if report["horizon_source"] == "label":
        parts.append(_bucket_table(report["by_steps"], "success by measured steps"))
    parts.append(_bucket_table(report["by_time"], "success by wall time"))
    costs = Table(title="per attempt", title_justify="left")
    for column in ("", "mean", "median", "total"):
        costs.add_column(column, justify="right")
    for name, stats in report["per_attempt"].items():
        fmt = "{:.4f}" if name == "cost_usd" else "{:.1f}"
        costs.add_row(name, *(fmt.format(stats[key]) for key in ("mean", "median", "total")))
    parts.append(costs)
    if report["failure_reasons"]:
        failures = Table(title="most common failure reasons", title_justify="left")
        failures.add_column("reason")
        failures.add_column("attempts", justify="right")
        for row in report["failure_reasons"]:
            failures.add_row(row["reason"], str(row["count"]))
        parts.append(failures)
    if report.get("unexpected"):
        parts.append(Text("outcomes that differ from the suite's expectation: " + ", ".join(
            f"{u['task_id']}#{u['attempt']} expected {u['expected']} got {u['status']}" for u in report["unexpected"]),
            style="bold red"))
    return Group(*parts)


def _bucket_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("bucket", "tasks", "attempts", "success", "pass^k", "median steps"):
        table.add_column(column, justify="left" if column == "bucket" else "right")
    for row in rows:
        table.add_row(str(row["bucket"]), str(row["tasks"]), str(row["attempts"]),
                      f"{_pct(row['success_rate'])} ({row['successes']})",
                      f"{_pct(row['pass_hat_k'])} (k={row['k']})", f"{row['median_steps']:g}")
    return table
