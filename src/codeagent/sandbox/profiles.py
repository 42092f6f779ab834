"""Sandbox profiles: TOML data saying what is bound read-only, what is writable,
whether there is network, the per-command limits and the environment allowlist.

Profiles live in the top-level `sandbox/` data folder (`default`, `network`); a user's
own go in `<user config dir>/sandbox/<name>.toml` (found first), or are given by path.
`extends = "<name>"` starts from another profile: tables merge key by key, lists are
replaced. A bad profile raises ConfigError naming the file and the key.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codeagent.config import user_config_dir
from codeagent.errors import ConfigError
from codeagent.resources import sandbox_profiles_dir

# Names never passed into a sandbox, whatever a profile or a caller says.
SECRET_PATTERNS = (
    "*_KEY", "*_KEYS", "*_TOKEN", "*_TOKENS", "*_SECRET", "*_SECRETS", "*SECRET_*", "*PASSWORD*",
    "*PASSWD*", "*_CREDENTIALS", "*_AUTH", "*API_KEY*", "*ACCESS_KEY*", "SSH_AUTH_SOCK",
    "SSH_AGENT_PID", "GPG_AGENT_INFO", "GPG_TTY", "GNUPGHOME", "DBUS_SESSION_BUS_ADDRESS",
    "KRB5CCNAME", "NETRC", "AWS_*", "AZURE_*", "GOOGLE_APPLICATION_CREDENTIALS", "DOCKER_*",
    "KUBECONFIG", "NPM_CONFIG__AUTH*", "CODEAGENT_*", "OPENAI_*", "ANTHROPIC_*",
)


@functools.lru_cache(maxsize=4096)  # asked for every variable on every command
def is_secret_name(name: str) -> bool:
    """True for environment names that may hold credentials (matched case-insensitively)."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)


class FilesystemProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ro_bind: list[str] = Field(default_factory=list, description="Bound read-only; each must exist.")
    ro_bind_try: list[str] = Field(default_factory=list, description="Bound read-only when present.")
    rw_bind: list[str] = Field(default_factory=list, description="Extra writable paths (beside workspace and scratch).")
    home_ro_try: list[str] = Field(default_factory=list, description="Paths under the user's home bound "
                                   "read-only at the same place under the fresh HOME, when present.")
    bind_python: bool = Field(True, description="Bind the running Python (and venv) read-only, first on PATH.")
    bind_path: bool = Field(True, description="Bind every directory on the caller's PATH read-only.")
    project_envs: list[str] = Field(default_factory=list, description="Directories of the user's checkout "
                                    "that git does not carry into the workspace (a virtualenv, node_modules): "
                                    "visible read-only in the workspace, their bin/ first on PATH.")

    @field_validator("ro_bind", "ro_bind_try", "rw_bind")
    @classmethod
    def _absolute(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"paths must be absolute, got {path!r}")
        return paths

    @field_validator("home_ro_try", "project_envs")
    @classmethod
    def _relative(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if path.startswith("/") or ".." in Path(path).parts or not path.strip("./"):
                raise ValueError(f"paths must be relative (to the home directory or the checkout), got {path!r}")
        return paths


class LimitsProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_mb: int = Field(4096, ge=16, description="Memory of one command, MiB.")
    processes: int = Field(512, ge=8, description="Processes and threads alive at once.")
    file_size_mb: int = Field(1024, ge=1, description="Largest file one command may write, MiB.")
    output_bytes: int = Field(200_000, ge=1000, description="Output kept for the model (head + tail).")
    use_cgroup: bool = Field(True, description="Use a cgroup for memory and processes when writable.")


class EnvProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] = Field(default_factory=list, description="Names passed through (trailing * = prefix).")
    set: dict[str, str] = Field(default_factory=dict, description="Variables set in every command.")

    @field_validator("allow")
    @classmethod
    def _no_secrets(cls, names: list[str]) -> list[str]:
        for name in names:
            if name.strip("*") == "":
                raise ValueError(f"{name!r} would pass the whole environment; list names instead")
            if not name.endswith("*") and is_secret_name(name):
                raise ValueError(f"{name!r} looks like a secret and is never passed into the sandbox")
        return names

    @field_validator("set")
    @classmethod
    def _no_secret_values(cls, values: dict[str, str]) -> dict[str, str]:
        for name in values:
            if is_secret_name(name):
                raise ValueError(f"{name!r} looks like a secret and is never set in the sandbox")
        return values


class Profile(BaseModel):
    """One sandbox profile, validated."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="Filled in from the file name.")
    description: str = ""
    extends: str | None = Field(None, description="Profile this one starts from.")
    network: bool = Field(False, description="Share the host network (otherwise only a private loopback).")
    seccomp: bool = Field(True, description="Block dangerous system calls (ptrace, bpf, keyctl, mount, ...): "
                          "see codeagent.sandbox.seccomp.")
    filesystem: FilesystemProfile = Field(default_factory=FilesystemProfile)
    limits: LimitsProfile = Field(default_factory=LimitsProfile)
    env: EnvProfile = Field(default_factory=EnvProfile)
    source: str = Field("", description="The file it was read from.")

    def env_allowed(self, name: str) -> bool:
        if is_secret_name(name):
            return False
        for pattern in self.env.allow:
            if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
                return True
        return False


def profile_dirs() -> list[Path]:
    """Where named profiles are looked up, first match wins."""
    return [user_config_dir() / "sandbox", sandbox_profiles_dir()]


def available_profiles() -> list[str]:
    names: set[str] = set()
    for folder in profile_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def find_profile(name_or_path: str) -> Path:
    """The file of a profile given by name ("default") or by path ("./my.toml")."""
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"sandbox profile file {str(path)!r} does not exist")
        return path
    for folder in profile_dirs():
        candidate = folder / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"unknown sandbox profile {name_or_path!r}",
        hint=f"available: {', '.join(available_profiles()) or 'none'}; or give a path to a .toml file",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sandbox profile {path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sandbox profile {path}: cannot read: {exc}") from None
    for reserved in ("name", "source"):
        if reserved in data:
            raise ConfigError(f"sandbox profile {path}: unknown key {reserved!r}")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw(name_or_path: str, seen: tuple[str, ...]) -> tuple[dict[str, Any], Path]:
    path = find_profile(name_or_path)
    if str(path.resolve()) in seen:
        raise ConfigError(f"sandbox profile {path}: 'extends' loops back to itself")
    data = _read(path)
    parent = data.get("extends")
    if parent is None:
        return data, path
    if not isinstance(parent, str):
        raise ConfigError(f"sandbox profile {path}: bad value for 'extends': expected a profile name")
    base, _ = _raw(parent, seen + (str(path.resolve()),))
    return _merge(base, data), path


def load_profile(name_or_path: str = "default") -> Profile:
    """Read, merge (`extends`) and validate a profile; errors name the file and the key."""
    data, path = _raw(name_or_path, ())
    try:
        profile = Profile(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"sandbox profile {path}: unknown key {key!r}") from None
        raise ConfigError(f"sandbox profile {path}: bad value for {key!r}: {err['msg']}") from None
    return profile.model_copy(update={"name": path.stem, "source": str(path)})
