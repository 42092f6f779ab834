"""The model's tools: names and JSON schemas. A public contract: recorded sessions,
replays and external harnesses depend on these names and parameters."""

from __future__ import annotations

from codeagent.models.base import ToolSpec


def _obj(props: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


_STR = {"type": "string"}

PLAN_STEP = {
    "type": "object",
    "properties": {
        "what": {"type": "string", "description": "What this step does."},
        "files": {"type": "array", "items": _STR, "description": "Files it reads or changes."},
        "done_when": {"type": "string", "description": "How to tell the step is done."},
        "status": {"type": "string", "enum": ["pending", "in_progress", "done", "skipped"]},
    },
    "required": ["what"],
}

TOOLS: list[ToolSpec] = [
    ToolSpec("read_file", "Read a text file of the workspace, with line numbers. Use offset/limit for long files.",
             _obj({"path": _STR, "offset": {"type": "integer", "description": "First line, 1-based."},
                   "limit": {"type": "integer", "description": "Number of lines."}}, ["path"])),
    ToolSpec("list_files", "List files tracked or new in the workspace under a directory, optionally filtered by a glob.",
             _obj({"path": {"type": "string", "description": "Directory; default the workspace root."},
                   "pattern": {"type": "string", "description": "Glob such as '*.py'."}}, [])),
    ToolSpec("search", "Search file contents with a regular expression; returns path:line: text matches.",
             _obj({"pattern": _STR, "path": {"type": "string", "description": "Directory or file to search."},
                   "glob": {"type": "string", "description": "Only files matching this glob."}}, ["pattern"])),
    ToolSpec("edit_file", "Replace the exact text `old` with `new` in a file. `old` must match once unless "
             "replace_all is true; an empty `old` on a missing file creates it.",
             _obj({"path": _STR, "old": _STR, "new": _STR, "replace_all": {"type": "boolean"}},
                  ["path", "old", "new"])),
    ToolSpec("write_file", "Create or overwrite a whole file.", _obj({"path": _STR, "content": _STR}, ["path", "content"])),
    ToolSpec("run_command", "Run a shell command in the sandbox (no network, writes only in the workspace).",
             _obj({"command": _STR, "timeout": {"type": "number", "description": "Seconds."}}, ["command"])),
    ToolSpec("run_tests", "Run the project's tests (all, or the given test ids / paths) and get a failure digest.",
             _obj({"selection": {"type": "array", "items": _STR}}, [])),
    ToolSpec("update_plan", "Replace the plan: ordered steps with their status.",
             _obj({"steps": {"type": "array", "items": PLAN_STEP}}, ["steps"])),
    ToolSpec("finish", "Say the task is done. The full test suite then runs; finishing counts only if it passes.",
             _obj({"summary": _STR}, [])),
]

TOOL_NAMES = [t.name for t in TOOLS]


def tool_specs(names: list[str] | None = None) -> list[ToolSpec]:
    return [t for t in TOOLS if names is None or t.name in names]
