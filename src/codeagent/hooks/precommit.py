"""`codeagent precommit`: check, fix or review exactly the staged snapshot.

    run_precommit(repo, settings, mode=, budget=, model=) -> PrecommitOutcome

Flow: the staged paths (fast path when none is relevant) -> the snapshot tree ->
a private scratch repo holding it -> checks (linters, affected tests) in the sandbox
-> `fix`: the agent repairs, the checks run again, the verified fix is staged ->
`review`: model findings and the secret scan, alongside the checks. The outcome's
`exit_code` is 0 when the commit may proceed and 1 when it is blocked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codeagent.config import Settings, user_cache_dir
from codeagent.errors import ConfigError, ModelError, NotAGitRepoError
from codeagent.hooks import checks as checks_mod
from codeagent.hooks.checks import CheckResult, Deadline
from codeagent.hooks.fastpath import relevant_paths, staged_paths
from codeagent.hooks.review import SEVERITIES, Finding, blocking, model_review, scan_diff
from codeagent.hooks.snapshot import ScratchRepo, StagedSnapshot, StageResult, materialize_tree, scratch_area

MODES = ("check", "fix", "review")


@dataclass
class PrecommitOutcome:
    mode: str  # the mode that ran (after any fallback)
    verdict: str  # pass | blocked | fixed | skipped
    exit_code: int  # 0 the commit may proceed, 1 blocked
    staged: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    blocking_findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fix_diff: str = ""
    fix_summary: str = ""
    stage: StageResult | None = None
    duration: float = 0.0
    checks_seconds: float = 0.0
    kind: str = "precommit_outcome"

    def to_dict(self) -> dict:
        return asdict(self)


def cache_base() -> Path:
    return user_cache_dir() / "precommit"


def validate(mode: str, settings: Settings, budget: float) -> None:
    if budget <= 0:
        raise ConfigError(f"the pre-commit budget must be a positive number of seconds, not {budget:g}")
    if mode not in MODES:
        raise ConfigError(f"unknown pre-commit mode {mode!r}; choose one of: {', '.join(MODES)}")
    if settings.precommit.block_severity not in SEVERITIES:
        raise ConfigError(f"[tool.codeagent.precommit] block_severity must be one of {', '.join(SEVERITIES)}, "
                          f"not {settings.precommit.block_severity!r}")


def run_precommit(repo: Path, settings: Settings, *, mode: str | None = None, budget: float | None = None,
                  model=None, bus=None) -> PrecommitOutcome:
    start = time.monotonic()
    mode = mode or settings.precommit.mode
    budget = budget if budget is not None else settings.precommit.budget
    validate(mode, settings, budget)
    deadline = Deadline(budget)
    paths = staged_paths(repo)
    if paths is None:
        raise NotAGitRepoError(f"{repo} is not a git work tree")
    covered = relevant_paths(paths, settings.precommit.skip_paths)  # what the checks look at
    relevant = paths if mode == "review" else covered  # review reads every staged file
    outcome = PrecommitOutcome(mode, "pass", 0, staged=paths)
    for saved in sorted(cache_base().glob("rescue-*")):
        outcome.notes.append(f"an interrupted fix left copies of your files in {saved}; "
                             "compare them with your tree, then delete the folder")
    if not relevant:
        outcome.verdict = "skipped"
        outcome.notes.append("nothing staged" if not paths else "only files no check covers are staged")
        return finish(outcome, start)
    if mode == "review":  # fix opens its model only once a check has failed
        model, outcome.mode = resolve_model(mode, settings, model, outcome)
        if outcome.verdict == "blocked":
            return finish(outcome, start)
    if settings.sandbox == "none":
        outcome.notes.append("sandbox 'none': the checks ran unsandboxed, with your user's full access")
    snapshot = StagedSnapshot.capture(repo, relevant, covered)
    with scratch_area(cache_base()) as area:
        scratch = ScratchRepo.create(area / "staged", snapshot)
        run_checks_and_review(outcome, scratch, settings, model, deadline, area)
        if outcome.mode == "fix" and any(c.blocking for c in outcome.checks):
            fix(outcome, scratch, settings, model, deadline, area, bus)
    if not outcome.checks and snapshot.covered:
        outcome.notes.append("no test command found and no linters configured: nothing was checked "
                             "(set test_cmd or [tool.codeagent.precommit] linters)")
    decide(outcome, settings)
    return finish(outcome, start)


def resolve_model(mode: str, settings: Settings, model, outcome: PrecommitOutcome):
    """The model for fix/review, or a fall back to `check` with a one-line note."""
    if mode == "check" or model is not None:
        return model, mode
    from codeagent.errors import ModelUnavailableError
    from codeagent.models import open_model

    try:
        return open_model(settings), mode
    except ModelUnavailableError as exc:
        model_trouble(mode, f"no model available ({exc.message})", settings, outcome)
        return None, ("review" if mode == "review" else "check")  # review keeps its secret scan


def model_trouble(mode: str, what: str, settings: Settings, outcome: PrecommitOutcome) -> None:
    """Note (one line) that the model could not be used; block only when configured to."""
    if settings.precommit.block_on_model_error:
        outcome.verdict, outcome.exit_code = "blocked", 1
        outcome.notes.append(f"{mode} mode: {what}; blocking (block_on_model_error = true)")
    else:
        done = "the checks and the secret scan" if mode == "review" else "the checks"
        outcome.notes.append(f"{mode} mode: {what}; fell back to {done} only")


def run_checks_and_review(outcome: PrecommitOutcome, scratch: ScratchRepo, settings: Settings, model,
                          deadline: Deadline, area: Path) -> None:
    """The checks, with the review (review mode) running alongside them in a daemon
    thread, so Ctrl-C or the budget never waits on a slow model call."""
    review: dict = {}
    thread = None
    if outcome.mode == "review":
        def work() -> None:
            try:
                review["result"] = review_staged(scratch.snapshot, settings, model)
            except Exception as exc:  # handed to the main thread below
                review["error"] = exc

        thread = threading.Thread(target=work, name="precommit-review", daemon=True)
        thread.start()
    began = time.monotonic()
    outcome.checks = all_checks(scratch, settings, deadline, area)
    outcome.checks_seconds = time.monotonic() - began
    if thread is None:
        return
    thread.join(deadline.remaining())
    if "error" in review:
        raise review["error"]
    if "result" not in review:
        findings, notes, failure = scan_diff(scratch.snapshot.diff()), [], "the review did not finish within the budget"
    else:
        findings, notes, failure = review["result"]
    outcome.findings += findings
    outcome.notes += notes
    if failure:
        model_trouble("review", failure, settings, outcome)


def all_checks(scratch: ScratchRepo, settings: Settings, deadline: Deadline, area: Path) -> list[CheckResult]:
    snapshot = scratch.snapshot
    if not snapshot.covered:
        return []
    results = checks_mod.run_linters(scratch.path, settings, snapshot.covered, deadline, snapshot.repo)

    def head_root() -> Path | None:
        if snapshot.head is None:
            return None
        dest = area / "head"
        if not dest.exists():
            materialize_tree(snapshot.repo, f"{snapshot.head}^{{tree}}", dest)
        return dest

    tests = checks_mod.run_tests(scratch.path, settings, snapshot.covered, deadline, head_root, snapshot.repo)
    return results + ([tests] if tests else [])


def review_staged(snapshot: StagedSnapshot, settings: Settings, model) -> tuple[list[Finding], list[str], str]:
    """Scan + model findings on the staged diff, notes, and what failed ('' if nothing)."""
    diff = snapshot.diff()
    findings = scan_diff(diff)
    if model is None:
        return findings, [], ""
    try:
        got, notes = model_review(model, diff, snapshot.changed, settings.precommit.block_severity, snapshot.repo)
    except ModelError as exc:
        return findings, [], f"the model failed ({exc.message})"
    return dedupe(findings + got), notes, ""


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen, kept = set(), []
    for f in findings:
        key = (f.file, f.line, f.category)
        if key not in seen:
            seen.add(key)
            kept.append(f)
    return kept


def fix(outcome: PrecommitOutcome, scratch: ScratchRepo, settings: Settings, model, deadline: Deadline,
        area: Path, bus) -> None:
    from codeagent.hooks.fixer import repair
    from codeagent.hooks.snapshot import stage_patch

    failures = [c for c in outcome.checks if c.blocking]
    model, outcome.mode = resolve_model("fix", settings, model, outcome)
    if model is None:
        return
    try:
        attempt = repair(scratch, settings, model, failures, deadline,
                         lambda: all_checks(scratch, settings, deadline, area), bus,
                         reserve=1.5 * outcome.checks_seconds + 2)
    except ModelError as exc:
        model_trouble("fix", f"the model failed ({exc.message})", settings, outcome)
        return
    outcome.fix_diff, outcome.fix_summary = attempt.diff, attempt.summary
    if not attempt.ok:
        outcome.notes.append(f"fix mode: no verified repair ({attempt.reason}); nothing was staged")
        if attempt.checks_after:
            outcome.notes.append("after the attempted fix: " + "; ".join(
                f"{c.name}: {c.summary}" for c in attempt.checks_after if c.blocking))
        return
    rescue = cache_base() / f"rescue-{time.strftime('%Y%m%d-%H%M%S')}"
    outcome.stage = stage_patch(scratch.snapshot, attempt.diff, rescue)
    outcome.checks = attempt.checks_after
    outcome.verdict = "fixed"
    if outcome.stage.note:
        outcome.notes.append(outcome.stage.note)


def decide(outcome: PrecommitOutcome, settings: Settings) -> None:
    outcome.blocking_findings = blocking(outcome.findings, settings.precommit.block_severity)
    blocked = (outcome.verdict == "blocked" or any(c.blocking for c in outcome.checks)
               or bool(outcome.blocking_findings))
    if blocked:
        outcome.verdict, outcome.exit_code = "blocked", 1
    elif outcome.verdict not in ("fixed",):
        outcome.verdict = "pass"


def finish(outcome: PrecommitOutcome, start: float) -> PrecommitOutcome:
    outcome.duration = time.monotonic() - start
    return outcome
