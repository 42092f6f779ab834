"""`codeagent doctor`: what this machine and repository offer codeagent: bubblewrap
and its version, user namespaces, how limits are enforced, git, the model
configuration (keys redacted), what the model server says it is (kind, model ids,
context window; `--offline` skips asking it) and the test command. Exit code 4 when the
configured sandbox cannot run, 3 when the configured model endpoint cannot be reached
or refuses the key, otherwise 0 (warnings included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from codeagent.cli.output import emit_json, stdout_console
from codeagent.config import LoadedSettings, load_settings, redact
from codeagent.errors import EXIT_MODEL, EXIT_SANDBOX, ModelUnavailableError
from codeagent.gitutil import find_repo_root


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    kind: str = "doctor_check"
    server: dict[str, Any] | None = None  # the server check: what the endpoint said it is


def check_bwrap() -> list[Check]:
    from codeagent.sandbox.probe import INSTALL_HINT, USERNS_HINT, bwrap_status

    status = bwrap_status()
    if status.path is None:
        return [Check("bubblewrap", "fail", f"not installed; {INSTALL_HINT}")]
    found = Check("bubblewrap", "ok", f"{status.path}, version {status.version_text}")
    limit = Path("/proc/sys/user/max_user_namespaces")
    count = limit.read_text().strip() if limit.exists() else "unknown"
    if status.usable:
        return [found, Check("user namespaces", "ok", f"usable (user.max_user_namespaces = {count})")]
    return [found, Check("user namespaces", "fail", f"{status.problem}; {USERNS_HINT}")]


def check_limits() -> Check:
    from codeagent.sandbox import cgroups

    hierarchy = cgroups.available()
    if hierarchy is not None:
        return Check("limits", "ok", f"processes and memory by cgroup v{hierarchy.version} ({hierarchy.pids}); "
                     "file size by RLIMIT_FSIZE")
    if os.geteuid() != 0 and shutil.which("prlimit"):
        return Check("limits", "ok", "processes by RLIMIT_NPROC (in the sandbox's user namespace), memory by "
                     "RLIMIT_AS, file size by RLIMIT_FSIZE")
    return Check("limits", "warn", "no process-count limit: running as root without a writable cgroup "
                 "(or prlimit missing); memory by RLIMIT_AS, file size by RLIMIT_FSIZE")


def check_git() -> Check:
    path = shutil.which("git")
    if path is None:
        return Check("git", "fail", "git is not installed")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("git", "fail", f"{path} does not run: {exc}")
    return Check("git", "ok", f"{path}, {version}")


def check_model(loaded: LoadedSettings) -> Check:
    s, src = loaded.settings, loaded.sources
    key = f"api key {redact(s.api_key)} ({src.get('api_key')})" if s.api_key else "no api key"
    endpoint = s.base_url or "https://api.openai.com/v1"
    if not s.model:
        return Check("model", "warn", f"no model configured (--model, CODEAGENT_MODEL or model in config); "
                     f"endpoint {endpoint}; {key}")
    status = "ok" if s.api_key or s.base_url else "warn"
    return Check("model", status, f"{s.model} ({src.get('model')}) at {endpoint}; {key}")


def check_server(loaded: LoadedSettings) -> Check | None:
    """Ask the endpoint what it is (GET /models, llama.cpp's /props). None when there is
    no endpoint to ask (no base URL and no key)."""
    from codeagent.models.openai_compat import OpenAIModel

    s = loaded.settings
    if not s.base_url and not s.api_key:
        return None
    model = OpenAIModel(s.model or "?", base_url=s.base_url, api_key=s.api_key, timeout=10.0, max_retries=0,
                        context_window=s.context_window, learn_context_window=True)
    try:
        info = model.describe()
    except ModelUnavailableError as exc:
        return Check("server", "fail", exc.message)
    finally:
        model.close()
    used = min(s.context_window, info.context_window or s.context_window)
    detail = f"{model.shown_url}: {info.describe()}; runs use a window of {used:,} tokens"
    status = "ok"
    if s.model and info.model_ids and s.model not in info.model_ids and info.kind in ("vLLM", "Ollama", "OpenAI"):
        status, detail = "warn", f"{detail}; the configured model {s.model!r} is not among those served"
    data = {"url": model.shown_url, "kind": info.kind, "model_ids": info.model_ids,
            "context_window": info.context_window, "context_source": info.context_source or None}
    return Check("server", status, detail, server=data)


def check_test_command(repo: Path | None, loaded: LoadedSettings) -> Check:
    if repo is None:
        return Check("test command", "warn", "not in a git repository")
    try:
        from codeagent.testing.detect import detect_test_command
    except ImportError:
        found = loaded.settings.test_cmd
        return Check("test command", "ok" if found else "warn", found or "not detected")
    found = detect_test_command(repo, loaded.settings.test_cmd)
    if found is None:
        return Check("test command", "warn", "not detected; set --test-cmd or test_cmd in config")
    return Check("test command", "ok", f"{found.cmd} ({found.reason})")


def check_sandbox_setting(loaded: LoadedSettings, bwrap_ok: bool) -> Check:
    from codeagent.errors import ConfigError
    from codeagent.sandbox.profiles import load_profile

    s = loaded.settings
    try:
        profile = load_profile(s.sandbox_profile or ("network" if s.allow_network else "default"))
    except ConfigError as exc:
        return Check("sandbox", "fail", f"bad sandbox profile: {exc}")
    about = (f"profile {profile.name} ({'network' if profile.network or s.allow_network else 'no network'}, "
             f"{profile.limits.memory_mb} MiB, {profile.limits.processes} processes)")
    if s.sandbox == "none":
        return Check("sandbox", "warn", f"'none' (from {loaded.sources.get('sandbox', 'default')}): "
                     "commands run unsandboxed")
    return Check("sandbox", "ok" if bwrap_ok else "fail", f"{s.sandbox!r} → bwrap, {about}"
                 + ("" if bwrap_ok else "; bwrap is unavailable: runs stop with exit code 4"))


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(as_json: bool = typer.Option(False, "--json", help="One JSON object per check on stdout."),
               offline: bool = typer.Option(False, "--offline", help="Do not ask the model endpoint.")) -> None:
        """Report what is available: sandbox, limits, git, model configuration and server, test command."""
        repo = find_repo_root(Path.cwd())
        loaded = load_settings(repo)
        checks = check_bwrap()
        bwrap_ok = all(c.status == "ok" for c in checks)
        checks += [check_limits(), check_sandbox_setting(loaded, bwrap_ok), check_git(),
                   check_model(loaded)]
        server = None if offline else check_server(loaded)
        checks += ([server] if server else []) + [check_test_command(repo, loaded)]
        if as_json:
            for check in checks:
                emit_json({k: v for k, v in asdict(check).items() if v is not None})
        else:
            table = Table("check", "status", "detail")
            for check in checks:
                colour = {"ok": "green", "warn": "yellow", "fail": "red"}[check.status]
                table.add_row(check.name, f"[{colour}]{check.status}[/]", check.detail)
            stdout_console().print(table)
        if not bwrap_ok and loaded.settings.sandbox != "none":
            raise typer.Exit(EXIT_SANDBOX)
        if server is not None and server.status == "fail":
            raise typer.Exit(EXIT_MODEL)
