"""One layered settings model:

    defaults < user config file < repo config < environment < flags

The user file is `config.toml` in the user config dir (`CODEAGENT_CONFIG_DIR`
overrides it). The repo config is `[tool.codeagent]` in `pyproject.toml` or a
`.codeagent.toml` at the repo root (the latter wins); unless the user trusts the
repository, it may set only the keys `trust` allows (others are ignored with a warning). Environment: `CODEAGENT_<KEY>`
for every key, plus `OPENAI_API_KEY` and `OPENAI_BASE_URL`. A repo-config key mirrors
its flag: `test_cmd` is `--test-cmd`. Every value remembers where it came from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codeagent import trust
from codeagent.errors import ConfigError

SECRET_KEYS = {"api_key"}
DEFAULT_PRECOMMIT_SKIP = (
    "*.md", "*.rst", "*.adoc", "README*", "LICENSE*", "COPYING*", "AUTHORS*", "CHANGELOG*",
    "*.png", "*.jpg", "*.jpeg", "*.gif", "*.svg", "*.ico", "*.webp", "*.pdf",
)


class PrecommitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str = Field("check", description="check | fix | review")
    budget: float = Field(60.0, description="Seconds the hook may spend in all.")
    linters: list[str] = Field(default_factory=list, description="Extra check commands run on the staged snapshot.")
    block_severity: str = Field("high", description="In review mode, block on findings at or above: low | medium | high.")
    block_on_model_error: bool = Field(False, description="Block the commit when the model is unreachable.")
    skip_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PRECOMMIT_SKIP),
        description="Globs of staged paths no check covers (docs, images); a commit touching only these passes at once.",
    )


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str | None = Field(None, description="Model name sent to the endpoint, e.g. gpt-4.1 or qwen2.5-coder.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; empty means api.openai.com.")
    api_key: str | None = Field(None, description="API key; read from OPENAI_API_KEY. Never logged.")
    test_cmd: str | None = Field(None, description="Command that runs the project's tests; detected when empty.")
    sandbox: str = Field("auto", description="auto | bwrap | none. 'none' runs commands unsandboxed.")
    allow_network: bool = Field(False, description="Give sandboxed commands network access.")
    sandbox_profile: str | None = Field(None, description="Sandbox profile name or .toml path; "
                                        "'default' (or 'network' with allow_network) when empty.")
    max_steps: int = Field(60, ge=1, description="Hard cap on model calls in one run.")
    max_tokens: int = Field(3_000_000, ge=1, description="Hard cap on prompt + completion tokens in one run.")
    max_cost: float | None = Field(None, ge=0, description="Hard cap on spend in USD; none when empty.")
    max_time: float = Field(1800.0, gt=0, description="Hard cap on wall time of one run, seconds.")
    request_timeout: float = Field(900.0, gt=0, description="Seconds one model call may take in all, retries "
                                   "included; a reply still streaming then is handed back cut off.")
    first_token_timeout: float = Field(300.0, gt=0, description="Seconds a streamed reply may take to start "
                                       "(prompt processing: long prompts on a CPU are slow); then retried.")
    stream_idle_timeout: float = Field(60.0, gt=0, description="Seconds a streaming reply may go without data "
                                       "before it counts as stalled and is retried.")
    max_output_tokens: int = Field(4096, ge=0, description="Cap on one reply's tokens (sent as max_tokens or "
                                   "max_completion_tokens); 0 sends none.")
    max_retries: int = Field(4, ge=0, description="Retries on 429, 5xx, connection errors and timeouts.")
    stream: bool = Field(True, description="Stream model replies (drives the live view).")
    context_window: int = Field(128_000, ge=1024, description="The model's context window in tokens.")
    compact_at: float = Field(0.6, gt=0, le=1, description="Compact the conversation at this fraction of the window.")
    command_timeout: float = Field(300.0, gt=0, description="Seconds a sandboxed command may run.")
    test_timeout: float = Field(900.0, gt=0, description="Seconds one test run may take.")
    repo_map_tokens: int = Field(2048, ge=0, description="Token budget of the repo map in the prompt.")
    validate_syntax: bool = Field(True, description="Refuse edits that introduce a syntax error (tree-sitter).")
    max_file_bytes: int = Field(1_000_000, ge=1, description="Files larger than this are not read or edited.")
    attempts: int = Field(1, ge=1, description="Independent attempts; the best one is kept.")
    session_dir: str | None = Field(None, description="Where session logs go; the user data dir when empty.")
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="USD per million tokens by model: {input, output, cached}.",
    )
    precommit: PrecommitSettings = Field(default_factory=PrecommitSettings)
    trusted_repos: list[str] = Field(default_factory=list, description="Repositories whose own config is read "
                                     "like yours (user config only; see `codeagent trust`).")


ENV_SPECIAL = {"OPENAI_API_KEY": "api_key", "OPENAI_BASE_URL": "base_url"}
_DEFAULTS = {name: f.default for name, f in Settings.model_fields.items() if f.default_factory is None}


@dataclass
class LoadedSettings:
    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)  # key -> "default" | file path | env var | "flag"

    def redacted(self) -> dict[str, Any]:
        data = self.settings.model_dump()
        for key in SECRET_KEYS:
            if data.get(key):
                data[key] = redact(data[key])
        return data


def redact(secret: str) -> str:
    return "****" + secret[-4:] if len(secret) > 8 else "****"


def user_config_dir() -> Path:
    return Path(os.environ.get("CODEAGENT_CONFIG_DIR") or platformdirs.user_config_dir("codeagent"))


def user_data_dir() -> Path:
    return Path(os.environ.get("CODEAGENT_DATA_DIR") or platformdirs.user_data_dir("codeagent"))


def user_cache_dir() -> Path:
    return Path(os.environ.get("CODEAGENT_CACHE_DIR") or platformdirs.user_cache_dir("codeagent"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def config_layers(repo: Path | None) -> list[tuple[str, dict[str, Any]]]:
    """The file layers, lowest first: (source name, values)."""
    layers = []
    user_file = user_config_dir() / "config.toml"
    if user_file.is_file():
        layers.append((str(user_file), _read_toml(user_file)))
    if repo is not None:
        pyproject = repo / "pyproject.toml"
        if pyproject.is_file():
            section = _read_toml(pyproject).get("tool", {}).get("codeagent")
            if section is not None:
                layers.append((f"{pyproject} [tool.codeagent]", section))
        dotfile = repo / ".codeagent.toml"
        if dotfile.is_file():
            layers.append((str(dotfile), _read_toml(dotfile)))
    return layers


def env_layer(environ: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Environment values: key -> (raw value, variable name)."""
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, tuple[str, str]] = {}
    for var, key in ENV_SPECIAL.items():
        if environ.get(var):
            found[key] = (environ[var], var)
    for name in Settings.model_fields:
        var = f"CODEAGENT_{name.upper()}"
        if environ.get(var):
            found[name] = (environ[var], var)
    return found


def load_settings(
    repo: Path | None = None,
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> LoadedSettings:
    """Merge every layer and validate; errors name the file (or variable) and key."""
    merged: dict[str, Any] = {}
    sources = {name: "default" for name in Settings.model_fields}
    layers = config_layers(repo)
    user_file = str(user_config_dir() / "config.toml")
    user_values = next((v for s, v in layers if s == user_file and isinstance(v, dict)), {})
    trusted = trust.is_trusted(repo, trust.trusted_paths(user_config_dir(), user_values))
    for source, values in layers:
        _check_keys(values, source)
        if source != user_file and not trusted:
            values = trust.filter_repo_values(values, source, user_values, _DEFAULTS)
        for key, value in values.items():
            if key == "precommit" and isinstance(value, dict):
                merged["precommit"] = {**merged.get("precommit", {}), **value}
            else:
                merged[key] = value
            sources[key] = source
        _validate(merged, source)
    for key, (raw, var) in env_layer(environ).items():
        merged[key] = _parse_env(key, raw, var)
        sources[key] = f"env {var}"
    _validate(merged, "environment")
    for key, value in (flags or {}).items():
        if value is not None:
            merged[key] = value
            sources[key] = "flag"
    return LoadedSettings(_validate(merged, "command-line flags"), sources)


def _check_keys(values: dict[str, Any], source: str) -> None:
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a table of settings")
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}",
            hint=f"known keys: {', '.join(sorted(Settings.model_fields))}",
        )


def _parse_env(key: str, raw: str, var: str) -> Any:
    annotation = str(Settings.model_fields[key].annotation)
    if "dict" in annotation or key == "precommit":
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"{var}: expected an inline TOML table for {key!r}") from None
    if "bool" in annotation:
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ConfigError(f"{var}: expected true or false for {key!r}, got {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    return raw


def _validate(merged: dict[str, Any], source: str) -> Settings:
    try:
        return Settings(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{source}: bad value for {key!r}: {err['msg']}") from None
