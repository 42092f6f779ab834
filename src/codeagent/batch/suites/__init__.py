"""Bundled task suites: `<suite>/tasks.jsonl`, `<suite>/repos/`, `<suite>/scripts.py`.

Only tasks from a bundled suite may name a ScriptedModel script (`"scripted":
"smoke/fix1"`); the worker builds the model from it in its own process.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from codeagent.errors import ConfigError

SUITES_DIR = Path(__file__).resolve().parent
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def suite_names() -> list[str]:
    return sorted(p.name for p in SUITES_DIR.iterdir() if (p / "tasks.jsonl").is_file())


def suite_tasks_path(name: str) -> Path:
    if name not in suite_names():
        raise ConfigError(f"unknown suite {name!r}; bundled suites: {', '.join(suite_names())}")
    return SUITES_DIR / name / "tasks.jsonl"


def load_script(name: str, attempt: int) -> list[Any]:
    """The steps of script `suite/script` for this attempt."""
    suite, _, script = name.partition("/")
    if not (NAME.match(suite) and NAME.match(script)) or suite not in suite_names():
        raise ConfigError(f"unknown script {name!r}; use '<suite>/<script>' from a bundled suite")
    scripts = importlib.import_module(f"codeagent.batch.suites.{suite}.scripts").SCRIPTS
    if script not in scripts:
        raise ConfigError(f"suite {suite!r} has no script {script!r}; it has: {', '.join(sorted(scripts))}")
    return scripts[script](attempt)
