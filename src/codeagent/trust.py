"""Which settings a repository's own config may set, and which repositories the user trusts.

A repository you clone is not you. Its `.codeagent.toml` or `[tool.codeagent]` may set
what a repository should decide (how its tests run, its prompts, linters and map
settings) and may lower the run's caps; it may not choose where the API key goes
(`base_url`, `api_key`, `model`), loosen the sandbox (`sandbox`, `allow_network`,
`sandbox_profile`), or anything else, which stays the user's: such a key is ignored
with a warning naming the file and the key. A repository the user trusts (listed in
`trusted_repos` in the user config, or added with `codeagent trust`, which writes
`trusted.toml` in the user config dir) is read like the user's own config.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

# What a repository decides for itself.
REPO_KEYS = frozenset({"test_cmd", "test_timeout", "command_timeout", "repo_map_tokens", "validate_syntax",
                       "compact_at", "precommit"})
# Caps a repository may lower, never raise.
LOWER_ONLY = frozenset({"max_steps", "max_tokens", "max_cost", "max_time", "max_file_bytes", "attempts"})
TRUST_FILE = "trusted.toml"

_warned: set[str] = set()


def trusted_paths(config_dir: Path, user_values: dict[str, Any]) -> set[str]:
    """Real paths of the repositories the user trusts (user config and trusted.toml)."""
    listed = list(user_values.get("trusted_repos") or [])
    file = config_dir / TRUST_FILE
    if file.is_file():
        try:
            listed += list(tomllib.loads(file.read_text(encoding="utf-8")).get("repos", []))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            warn(f"{file}: unreadable; no repository is trusted through it")
    return {os.path.realpath(os.path.expanduser(str(p))) for p in listed if isinstance(p, str)}


def is_trusted(repo: Path | None, trusted: set[str]) -> bool:
    return repo is not None and os.path.realpath(repo) in trusted


def filter_repo_values(values: dict[str, Any], source: str, current: dict[str, Any],
                       defaults: dict[str, Any]) -> dict[str, Any]:
    """The keys of a repository layer that an untrusted repository may set; the others
    are dropped with a warning. Caps are compared with `current` (the user's config),
    else `defaults`."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key in REPO_KEYS:
            kept[key] = value
        elif key in LOWER_ONLY and _lowers(value, current.get(key, defaults.get(key))):
            kept[key] = value
        else:
            why = "may only lower it" if key in LOWER_ONLY else "is not the repository's to set"
            warn(f"{source}: ignored {key!r}: {why} (trust the repository with `codeagent trust` to allow it)")
    return kept


def _lowers(value: Any, limit: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True  # not a number: validation refuses it, naming the file and the key
    return limit is None or (not isinstance(limit, bool) and isinstance(limit, (int, float)) and value <= limit)


def warn(message: str) -> None:
    """Said once per process on stderr: every front door loads settings, not all render."""
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f"codeagent: warning: {message}\n")


def add_trusted(config_dir: Path, repo: Path) -> tuple[Path, bool]:
    """Record `repo` in trusted.toml; (the file, whether it was new)."""
    file = config_dir / TRUST_FILE
    repos: list[str] = []
    if file.is_file():
        repos = [str(p) for p in tomllib.loads(file.read_text(encoding="utf-8")).get("repos", [])]
    real = os.path.realpath(repo)
    if real in {os.path.realpath(p) for p in repos}:
        return file, False
    repos.append(real)
    file.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"  {_toml_string(p)},\n" for p in repos)
    file.write_text("# Repositories whose own codeagent config is read like yours (`codeagent trust`).\n"
                    f"repos = [\n{body}]\n", encoding="utf-8")
    return file, True


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
