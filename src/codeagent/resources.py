"""Find the data folders shipped beside the package: `prompts/` and `sandbox/`.

In a wheel they live in `codeagent/_data/`; in an editable install or a checkout they
are the top-level folders of the source tree.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"codeagent data folder {name!r} is missing from this install")


def prompts_dir() -> Path:
    return data_dir("prompts")


def sandbox_profiles_dir() -> Path:
    return data_dir("sandbox")
