"""`codeagent batch` and `codeagent eval`: headless batches and the reliability report.

Exit codes of `batch`: 0 every attempt succeeded; 1 some attempt did not; 2 usage
error, or the tasks file had bad lines (the good ones still ran); 3 no model
configured; 130 interrupted (finished attempts are kept; run again to resume).
`eval`: 0 report printed; 2 nothing to report; with --suite, 1 when an outcome
differs from the suite's expectation.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from codeagent.batch.engine import Job
from codeagent.batch.jobs import BatchOutcome, run_batch
from codeagent.batch.render import STATUS_STYLE, line_errors_text, report_renderable, results_table
from codeagent.batch.results import ResultStore
from codeagent.batch.tasks import TaskFile, load_tasks
from codeagent.batch.worker import TaskRunner
from codeagent.cli.output import emit_json, stderr_console
from codeagent.config import load_settings
from codeagent.errors import EXIT_INTERRUPTED, EXIT_NOT_DONE, EXIT_OK, EXIT_USAGE, ConfigError
from codeagent.registry import BATCH_ENGINES, load


def _engine_class(name: str, workers: int | None, address: str | None, attempts: int | None):
    """Check the engine flags before anything starts; the engine class."""
    if address and name != "ray":
        raise ConfigError("--ray-address needs --engine ray")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if attempts is not None and attempts < 1:
        raise ConfigError(f"--attempts must be at least 1, got {attempts}")
    return load(BATCH_ENGINES, name, "batch engine")


def _progress(console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/]"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, transient=False, disable=not console.is_terminal)


class _BatchView:
    """Progress bar with ETA and one line per finished attempt (stderr); records as
    JSONL on stdout with --json."""

    def __init__(self, console, as_json: bool):
        self.console, self.as_json = console, as_json
        self.progress = _progress(console)
        self.bar = self.progress.add_task("batch", total=None, ok=0, failed=0)
        self.counts = {"ok": 0, "failed": 0}
        self.engine: Any = None

    def on_plan(self, planned: int, skipped: int) -> None:
        self.progress.update(self.bar, total=planned)
        self.console.print(f"{planned} attempt(s) to run on {self.engine.name} with {self.engine.workers} worker(s)"
                           + (f"; {skipped} already finished (use --redo to run them again)" if skipped else ""))

    def on_result(self, job: Job, record: dict[str, Any]) -> None:
        self.counts["ok" if record.get("success") else "failed"] += 1
        self.progress.update(self.bar, advance=1, **self.counts)
        status = record.get("status", "?")
        self.progress.console.print(f"[{STATUS_STYLE.get(status, '')}]{status:>8}[/] {job.task.id}#{job.attempt} "
                                    f"{record.get('reason', '')} ({record.get('steps', 0)} steps, "
                                    f"{float(record.get('wall_time') or 0):.1f}s)")
        if self.as_json:
            emit_json(record)


def _valid_tasks(tasks_file: Path, allow_scripted: bool, as_json: bool, console) -> TaskFile:
    loaded = load_tasks(tasks_file, allow_scripted=allow_scripted)
    for err in loaded.errors:
        if as_json:
            emit_json({"kind": err.kind, "file": str(tasks_file), "line": err.line, "message": err.message})
    if loaded.errors:
        console.print(line_errors_text(loaded.errors, str(tasks_file)), end="", soft_wrap=True)
        console.print(f"[yellow]{len(loaded.errors)} bad line(s) skipped; running the other {len(loaded.tasks)}[/]")
    if not loaded.tasks:
        raise ConfigError(f"{tasks_file}: no valid task to run")
    return loaded


def execute_batch(tasks_file: Path, out: Path, *, engine_name: str, workers: int | None, address: str | None,
                  attempts: int | None, redo: bool, as_json: bool, flags: dict[str, Any], timeout: float | None,
                  keep_workspaces: bool, allow_scripted: bool) -> tuple[BatchOutcome, int]:
    """Validate, run and summarize one batch; returns the outcome and the exit code."""
    console = stderr_console()
    engine_cls = _engine_class(engine_name, workers, address, attempts)
    loaded = _valid_tasks(tasks_file, allow_scripted, as_json, console)
    settings = load_settings(None, flags).settings
    if not all(t.scripted for t in loaded.tasks):
        from codeagent.models import open_model

        open_model(settings)  # fail fast (exit 3) when no model is configured at all
    view = _BatchView(console, as_json)
    view.engine = engine_cls(workers=workers or (None if engine_name == "ray" else min(4, os.cpu_count() or 1)),
                             address=address)
    runner = TaskRunner(flags={k: v for k, v in flags.items() if v is not None}, keep_workspace=keep_workspaces)
    with view.progress:
        outcome = run_batch(loaded.tasks, out, view.engine, runner, attempts=attempts, redo=redo, timeout=timeout,
                            max_time=settings.max_time, line_errors=loaded.errors, on_result=view.on_result,
                            on_plan=view.on_plan)
    keys = {(t.id, a) for t in loaded.tasks for a in range(1, (attempts or t.attempts or 1) + 1)}
    latest = [r for k, r in ResultStore(out).latest().items() if k in keys]
    code = batch_exit_code(outcome, latest)
    summary = outcome.summary()
    if as_json:
        emit_json({**summary, "out": str(out), "exit_code": code})
    else:
        console.print(results_table(latest, title=f"results in {out / 'results.jsonl'}"))
        console.print(f"ran {summary['ran']} (succeeded {summary['succeeded']}, failed {summary['failed']}), "
                      f"skipped {summary['skipped']}, bad lines {summary['bad_lines']}, "
                      f"{summary['wall_time']:.1f}s; report: codeagent eval {out}")
    return outcome, code


def batch_exit_code(outcome: BatchOutcome, latest: list[dict[str, Any]]) -> int:
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if outcome.line_errors:
        return EXIT_USAGE
    return EXIT_OK if latest and all(r.get("success") for r in latest) else EXIT_NOT_DONE


def print_report(out: Path, as_json: bool, chart: Path | None) -> dict[str, Any]:
    from codeagent.batch.eval import load_report

    report, warnings = load_report(out)
    console = stderr_console()
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if chart is not None:
        from codeagent.batch.chart import write_chart

        report["chart"] = str(write_chart(report, chart))
    if as_json:
        emit_json(report)
    else:
        from rich.console import Console

        Console(no_color=bool(os.environ.get("NO_COLOR")), highlight=False).print(report_renderable(report))
        if chart is not None:
            console.print(f"chart: {chart}")
    return report


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        tasks_file: Path = typer.Argument(..., help="TASKS.jsonl: one task object per line (see README)."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for results.jsonl, sessions and logs."),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Attempts run at once (local: min(4, CPUs))."),
        engine: str = typer.Option("local", "--engine", help="local | ray."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster, e.g. ray://head:10001 or auto."),
        attempts: Optional[int] = typer.Option(None, "--attempts", "-k", help="Attempts per task (overrides the task's)."),
        redo: bool = typer.Option(False, "--redo", help="Run attempts again even if already in results.jsonl."),
        timeout: Optional[float] = typer.Option(None, "--timeout", help="Default wall-clock kill limit per attempt, s."),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name."),
        base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint."),
        sandbox: Optional[str] = typer.Option(None, "--sandbox", help="auto | bwrap | none."),
        keep_workspaces: bool = typer.Option(False, "--keep-workspaces", help="Keep each attempt's clone."),
        as_json: bool = typer.Option(False, "--json", help="JSONL on stdout: bad lines, results, summary."),
    ) -> None:
        """Run many tasks unattended, each in its own workspace; results to DIR/results.jsonl."""
        flags = {"model": model, "base_url": base_url, "sandbox": sandbox}
        _, code = execute_batch(tasks_file, out, engine_name=engine, workers=workers, address=ray_address,
                                attempts=attempts, redo=redo, as_json=as_json, flags=flags, timeout=timeout,
                                keep_workspaces=keep_workspaces, allow_scripted=False)
        raise typer.Exit(code)

    @app.command("eval")
    def eval_(
        out: Optional[Path] = typer.Argument(None, help="A batch folder (with results.jsonl)."),
        suite: Optional[str] = typer.Option(None, "--suite", help="Run a bundled suite first (smoke)."),
        suite_out: Optional[Path] = typer.Option(None, "--out", "-o", help="With --suite: where to run it."),
        attempts: Optional[int] = typer.Option(None, "--attempts", "-k", help="With --suite: attempts per task (2)."),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", help="With --suite: workers."),
        engine: str = typer.Option("local", "--engine", help="With --suite: local | ray."),
        as_json: bool = typer.Option(False, "--json", help="The report as one JSON object on stdout."),
        chart: Optional[Path] = typer.Option(None, "--chart", help="Write a PNG of success rate vs horizon."),
    ) -> None:
        """Reliability report: pass@1, pass@k, pass^k, success by horizon, cost, failures."""
        if suite is None:
            if out is None:
                raise ConfigError("give a batch folder (codeagent eval DIR) or --suite NAME")
            print_report(out, as_json, chart)
            return
        if out is not None:
            raise ConfigError("with --suite, name the run folder with --out, not as an argument")
        from codeagent.batch.suites import suite_tasks_path

        path = suite_tasks_path(suite)
        run_dir = suite_out or Path(tempfile.mkdtemp(prefix=f"codeagent-{suite}-"))
        stderr_console().print(f"suite {suite}: running in {run_dir}")
        execute_batch(path, run_dir, engine_name=engine, workers=workers, address=None, attempts=attempts or 2,
                      redo=False, as_json=False, flags={}, timeout=None, keep_workspaces=False,
                      allow_scripted=True)
        report = print_report(run_dir, as_json, chart)
        raise typer.Exit(EXIT_NOT_DONE if report["unexpected"] else EXIT_OK)

