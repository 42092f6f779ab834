"""Edit text formats and the one parser entry point that detects them.

    search-replace   <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks after a file name
    unified          unified diffs (diff -u, git diff, loose model diffs)
    patch            *** Begin Patch ... *** End Patch (Add / Update / Delete File, Move to)
"""

from __future__ import annotations

from codeagent.edits.data import Edit
from codeagent.edits.errors import EditFormatError
from codeagent.edits.formats import patch, search_replace, unified

FORMATS = {
    "patch": patch,
    "search-replace": search_replace,
    "unified": unified,
}
FORMAT_NAMES = ("auto", *FORMATS)


def detect_format(text: str) -> str | None:
    """The format whose first marker comes first in `text` (so a block may quote another format), or None."""
    found = [(at, name) for name, module in FORMATS.items() if (at := module.detect(text)) is not None]
    return min(found)[1] if found else None


def parse_edits(text: str, fmt: str = "auto") -> list[Edit]:
    """Every edit in `text`; [] when it holds none. Raises EditFormatError when malformed."""
    if fmt not in FORMAT_NAMES:
        raise EditFormatError(f"unknown edit format {fmt!r}; choose one of: {', '.join(FORMAT_NAMES)}")
    if fmt == "auto":
        fmt = detect_format(text) or ""
        if not fmt:
            return []
    return FORMATS[fmt].parse(text)


__all__ = ["FORMATS", "FORMAT_NAMES", "detect_format", "parse_edits"]
