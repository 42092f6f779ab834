"""`codeagent hook install|uninstall|status` and `codeagent precommit`.

precommit exit codes: 0 the commit may proceed; 1 blocked (checks failed, findings at
or above block_severity, or no verified fix); 2 usage/config error; 4 sandbox
unavailable; 130 interrupted. Git blocks the commit on any non-zero code.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    register_hook(app)
    register_precommit(app)


def register_hook(app: typer.Typer) -> None:
    hook_app = typer.Typer(help="Install or remove codeagent's git pre-commit hook.", no_args_is_help=True)
    app.add_typer(hook_app, name="hook")

    @hook_app.command("install")
    def install_cmd(
        mode: Optional[str] = typer.Option(
            None, "--mode", help="check | fix | review; default: the configured mode, read at each commit"),
        force: bool = typer.Option(False, "--force", help="Replace a foreign hook (it is kept as a backup)."),
        chain: bool = typer.Option(False, "--chain", help="Keep a foreign hook and run it before codeagent."),
    ) -> None:
        """Write .git/hooks/pre-commit so every `git commit` runs `codeagent precommit`."""
        from codeagent.hooks.install import install

        change = install(repo_root(), mode, force=force, chain=chain)
        say(f"{change.action} {change.path} (mode {change.mode})")
        if change.chained:
            say(f"  runs first: {change.chained}")
        if change.backup:
            say(f"  the previous hook was kept as {change.backup}")

    @hook_app.command("uninstall")
    def uninstall_cmd() -> None:
        """Remove codeagent's pre-commit hook (a chained hook is put back)."""
        from codeagent.hooks.install import uninstall

        change = uninstall(repo_root())
        say("no pre-commit hook installed" if change.action == "absent" else f"removed {change.path}")
        if change.restored:
            say(f"  restored the chained hook as {change.restored}")

    @hook_app.command("status")
    def status_cmd() -> None:
        """Say whether codeagent's hook is installed, and in which mode."""
        from codeagent.hooks.install import hooks_dir, installed_mode

        repo = repo_root()
        mode = installed_mode(repo)
        path = hooks_dir(repo) / "pre-commit"
        say(f"installed at {path} (mode {mode})" if mode else f"not installed ({path})")


def register_precommit(app: typer.Typer) -> None:
    @app.command("precommit")
    def precommit_cmd(
        mode: Optional[str] = typer.Option(None, "--mode", help="check | fix | review (default: config, else check)"),
        budget: Optional[float] = typer.Option(None, "--budget", help="Seconds the hook may spend (default 60)."),
        as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON line on stdout."),
    ) -> None:
        """Check, fix or review exactly the staged snapshot; exit 1 blocks the commit."""
        from codeagent.hooks.fastpath import staged_paths

        repo = repo_root()
        if staged_paths(repo) == [] and not as_json:
            raise typer.Exit(0)
        exit_on_termination()
        from codeagent.config import load_settings
        from codeagent.hooks.precommit import run_precommit

        settings = load_settings(repo).settings
        outcome = run_precommit(repo, settings, mode=mode, budget=budget)
        if as_json:
            print(json.dumps(outcome.to_dict(), default=str))
        else:
            render(outcome)
        raise typer.Exit(outcome.exit_code)


def repo_root() -> Path:
    from codeagent.errors import NotAGitRepoError
    from codeagent.hooks.snapshot import git, out

    proc = git(Path.cwd(), "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0 or not out(proc):
        raise NotAGitRepoError(f"{Path.cwd()} is not inside a git work tree",
                               hint="run this in the repository whose commits should be checked")
    return Path(out(proc))


def exit_on_termination() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so scratch areas and sandboxes are cleaned up."""
    def stop(signum, _frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def say(text: str, style: str | None = None) -> None:
    from codeagent.cli.output import stderr_console

    stderr_console().print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def render(outcome) -> None:
    """The outcome for people, on stderr (plain text when not on a terminal)."""
    head = {"pass": "ok", "skipped": "ok", "fixed": "fixed and staged", "blocked": "BLOCKED"}[outcome.verdict]
    style = {"blocked": "bold red", "fixed": "bold yellow"}.get(outcome.verdict, "green")
    say(f"codeagent precommit ({outcome.mode}): {head} in {outcome.duration:.1f}s", style)
    for check in outcome.checks:
        mark = "x" if check.blocking else ("-" if check.status == "skipped" else "ok")
        say(f"  [{mark}] {check.name}: {check.summary}")
        for test_id in check.failed[:20]:
            say(f"      failing: {test_id}")
        if check.preexisting:
            say(f"      already failing at HEAD (not blocking): {', '.join(check.preexisting[:10])}")
        if check.blocking and check.details:
            say(indent(check.details))
    for finding in outcome.findings:
        flag = "BLOCKS" if finding in outcome.blocking_findings else "note"
        say(f"  {finding.where()}: {finding.severity} {finding.category} [{flag}] {finding.message}")
    if outcome.verdict == "fixed":
        render_fix(outcome)
    for note in outcome.notes:
        say(f"  note: {note}")
    if outcome.verdict == "blocked":
        say("Commit blocked. Fix the above, or skip the hook once with `git commit --no-verify`.", "bold red")


def render_fix(outcome) -> None:
    stage = outcome.stage
    say(f"  staged a repair of {', '.join(stage.files)}" + (f": {outcome.fix_summary}" if outcome.fix_summary else ""))
    say(indent(outcome.fix_diff, "    "))
    if stage.worktree_kept:
        say(f"  your working tree keeps its own version of: {', '.join(stage.worktree_kept)}")
