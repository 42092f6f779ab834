"""Render the Jinja2 prompt templates shipped in `prompts/` (StrictUndefined: a
missing variable is an error, never an empty string). A repository may override any
template by putting a file of the same name in `.codeagent/prompts/`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from codeagent.errors import ConfigError
from codeagent.resources import prompts_dir


def render(name: str, repo: Path | None = None, **variables: Any) -> str:
    search = [str(prompts_dir())]
    if repo is not None and (repo / ".codeagent" / "prompts").is_dir():
        search.insert(0, str(repo / ".codeagent" / "prompts"))
    env = _environment(tuple(search))
    try:
        return env.get_template(name).render(**variables).strip() + "\n"
    except jinja2.TemplateNotFound:
        raise ConfigError(f"prompt template {name!r} not found in {', '.join(search)}") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"prompt template {name!r}: {exc}") from None


@lru_cache(maxsize=32)
def _environment(search: tuple[str, ...]) -> jinja2.Environment:
    """One environment per search path, so a template is compiled once per process
    (jinja re-reads a file whose modification time changed)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def compile_shipped() -> None:
    """Compile every shipped template now (the batch forkserver does, once for all attempts)."""
    env = _environment((str(prompts_dir()),))
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)
