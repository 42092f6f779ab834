"""Render the Jinja2 prompt templates shipped in `prompts/` (StrictUndefined: a
missing variable is an error, never an empty string). A repository may override any
template by putting a file of the same name in `.codeagent/prompts/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from codeagent.errors import ConfigError
from codeagent.resources import prompts_dir


def render(name: str, repo: Path | None = None, **variables: Any) -> str:
    search = [str(prompts_dir())]
    if repo is not None and (repo / ".codeagent" / "prompts").is_dir():
        search.insert(0, str(repo / ".codeagent" / "prompts"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        return env.get_template(name).render(**variables).strip() + "\n"
    except jinja2.TemplateNotFound:
        raise ConfigError(f"prompt template {name!r} not found in {', '.join(search)}") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"prompt template {name!r}: {exc}") from None
