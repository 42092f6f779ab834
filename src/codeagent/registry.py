"""Implementations picked by short name: a new backend is one file plus one line here."""

from __future__ import annotations

import importlib
from typing import Any

from codeagent.errors import ConfigError

SANDBOXES = {
    "bwrap": "codeagent.sandbox.bwrap:BwrapSandbox",
    "none": "codeagent.sandbox.process:ProcessSandbox",
}

MODELS = {
    "openai": "codeagent.models.openai_compat:OpenAIModel",
    "scripted": "codeagent.models.scripted:ScriptedModel",
}

BATCH_ENGINES = {
    "local": "codeagent.batch.local:LocalEngine",
    "ray": "codeagent.batch.ray_engine:RayEngine",
}


def load(table: dict[str, str], name: str, what: str) -> Any:
    """Import the object registered under `name` in `table`."""
    if name not in table:
        raise ConfigError(f"unknown {what} {name!r}; choose one of: {', '.join(sorted(table))}")
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)
