"""The edit engine: parse edit formats, match safely, validate, apply atomically,
explain failures. The loop's edit_file / write_file tools and `codeagent apply` use it.

    paths.py       workspace path safety (resolve_in_workspace, PathRefused)
    formats/       SEARCH/REPLACE blocks, unified diffs, *** Begin Patch; parse_edits
    matching.py    the layered matcher (exact, whitespace, indentation, elision, fuzzy)
    merge.py, elision.py, lines.py   helpers of the matcher
    validate.py    tree-sitter syntax checks
    textfile.py    encoding / BOM / newline / mode preservation, atomic writes
    staging.py     one transaction's in-memory staging of edits
    engine.py      EditEngine: the transaction, checks and commit
    feedback.py    the messages the model reads
"""

from codeagent.edits.data import ApplyReport, Edit, EditResult
from codeagent.edits.engine import EditEngine
from codeagent.edits.errors import EditFormatError, PathRefused
from codeagent.edits.formats import FORMAT_NAMES, detect_format, parse_edits
from codeagent.edits.paths import resolve_in_workspace

__all__ = [
    "ApplyReport",
    "Edit",
    "EditEngine",
    "EditFormatError",
    "EditResult",
    "FORMAT_NAMES",
    "PathRefused",
    "detect_format",
    "parse_edits",
    "resolve_in_workspace",
]
