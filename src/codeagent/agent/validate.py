"""The one door in front of every tool: a model's tool call is resolved to one of our
tools and its arguments are checked against that tool's JSON schema before anything
runs. The tools then trust their inputs.

    resolve_call(name, raw_arguments) -> Resolved(tool, args, error, notes)

- Arguments arrive as raw text (or, from some servers, an object). Invalid JSON, `null`,
  an array or a string where an object belongs become an `error` naming what came.
- Unambiguous coercions are made: "5" -> 5, 5 -> "5", "true" -> True, one string where a
  list of strings belongs -> [string], a JSON-encoded object or list -> the value.
  Anything else is an error naming the parameter, the expected type and what was sent.
- Other agents' tool names (`bash`, `str_replace_based_edit_tool`, `apply_patch`, ...)
  and parameter names (`file_path`, `old_str`, ...) map onto ours when the meaning is
  clear; a note tells the model the name to use next time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from codeagent.agent.schemas import TOOL_NAMES, TOOLS

SCHEMAS = {t.name: t.parameters for t in TOOLS}

# Other agents' tools with the same meaning as one of ours.
TOOL_ALIASES = {
    "bash": "run_command", "shell": "run_command", "execute_bash": "run_command", "terminal": "run_command",
    "execute_command": "run_command", "run_shell_command": "run_command", "exec": "run_command",
    "read": "read_file", "view_file": "read_file", "open_file": "read_file", "cat": "read_file",
    "write": "write_file", "create_file": "write_file",
    "edit": "edit_file", "str_replace": "edit_file", "replace_in_file": "edit_file",
    "ls": "list_files", "list_dir": "list_files", "list_directory": "list_files",
    "grep": "search", "search_files": "search", "find_in_files": "search",
    "submit": "finish", "task_complete": "finish", "attempt_completion": "finish",
    "run_test": "run_tests", "test": "run_tests",
}
# The editor tool of several agents: one name, the action in `command`.
EDITOR_TOOLS = ("str_replace_based_edit_tool", "str_replace_editor", "text_editor")
EDITOR_COMMANDS = {"view": "read_file", "create": "write_file", "str_replace": "edit_file"}
PATCH_TOOLS = ("apply_patch", "apply_diff", "patch")
APPLY_PATCH = "apply_patch"  # handled by the loop: the patch text goes through the edit formats

# Parameter names other agents use, per meaning (renamed only when ours is absent).
PARAM_ALIASES = {
    "path": ("file_path", "filepath", "filename", "file", "path_name", "dir", "directory"),
    "old": ("old_str", "old_string", "old_text", "search"),
    "new": ("new_str", "new_string", "new_text", "replace", "replacement"),
    "content": ("file_text", "contents", "text", "data"),
    "command": ("cmd", "script", "shell_command"),
    "pattern": ("regex", "query", "search_pattern"),
    "summary": ("result", "message", "text"),
    "selection": ("tests", "test_ids", "paths", "test"),
}
TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
              "array": "a list", "object": "an object"}


@dataclass
class Resolved:
    tool: str  # one of TOOL_NAMES, or APPLY_PATCH
    args: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class ArgumentError(ValueError):
    pass


def resolve_call(name: str, raw: Any) -> Resolved:
    """Which tool a call means and its checked arguments (or the error to show)."""
    name = (name or "").strip()
    try:
        args = _decode(raw, name)
    except ArgumentError as exc:
        return Resolved(name, error=str(exc))
    tool, args, notes = _map_tool(name, args)
    if tool is None:
        return Resolved(name, error=f"unknown tool {name!r}. Available tools: {', '.join(TOOL_NAMES)}", notes=notes)
    if tool == APPLY_PATCH:
        text = next((v for k, v in args.items() if k in ("input", "patch", "diff", "content")), None)
        if not isinstance(text, str) or not text.strip():
            return Resolved(tool, error="apply_patch needs the patch text in `input`", notes=notes)
        return Resolved(tool, {"patch": text}, notes=notes)
    args, renamed = _rename_params(tool, args)
    notes += renamed
    try:
        checked, dropped = check_object(SCHEMAS[tool], args, where="")
    except ArgumentError as exc:
        return Resolved(tool, error=f"bad arguments for {tool}: {exc}. Parameters: {describe_params(tool)}",
                        notes=notes)
    if dropped:
        notes.append(f"ignored unknown parameter(s) of {tool}: {', '.join(dropped)}")
    return Resolved(tool, checked, notes=notes)


def describe_params(tool: str) -> str:
    schema = SCHEMAS[tool]
    required = set(schema.get("required", []))
    parts = [f"{p} ({_type_of(s)}{'' if p in required else ', optional'})" for p, s in schema["properties"].items()]
    return ", ".join(parts) or "none"


# -- decoding and mapping ------------------------------------------------------------

def _decode(raw: Any, name: str) -> dict[str, Any]:
    value = raw
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            cut = exc.pos >= len(text) - 1 or exc.msg.startswith("Unterminated") or text.count("{") > text.count("}")
            raise ArgumentError(
                f"the arguments of {name} are not valid JSON ({exc.msg} at char {exc.pos}"
                f"{', the text looks cut off' if cut else ''}). "
                "Send one JSON object with the tool's parameters.") from None
        if isinstance(value, str) and value.strip().startswith("{"):  # encoded twice
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArgumentError(f"the arguments of {name} must be a JSON object with named parameters, "
                            f"got {_kind(value)}")
    return value


def _map_tool(name: str, args: dict[str, Any]) -> tuple[str | None, dict[str, Any], list[str]]:
    if name in TOOL_NAMES:
        return name, args, []
    if name in PATCH_TOOLS:
        return APPLY_PATCH, args, []
    if name in EDITOR_TOOLS:
        return _map_editor(name, args)
    lowered = name.lower().replace("-", "_")
    tool = TOOL_ALIASES.get(lowered) or (lowered if lowered in TOOL_NAMES else None)
    if tool is None:
        return None, args, []
    return tool, args, [f"`{name}` is not a tool here; it was run as `{tool}`. Use `{tool}` next time."]


def _map_editor(name: str, args: dict[str, Any]) -> tuple[str | None, dict[str, Any], list[str]]:
    command = str(args.get("command", ""))
    tool = EDITOR_COMMANDS.get(command)
    if tool is None:
        return None, args, [f"{name} with command {command!r} has no equivalent here"]
    rest = {k: v for k, v in args.items() if k != "command"}
    view_range = rest.pop("view_range", None)
    if tool == "read_file" and isinstance(view_range, list) and len(view_range) == 2:
        start, end = view_range
        if isinstance(start, int) and isinstance(end, int) and start >= 1:
            rest["offset"] = start
            if end >= start:
                rest["limit"] = end - start + 1
    return tool, rest, [f"`{name}` ({command}) was run as `{tool}`. Use `{tool}` next time."]


def _rename_params(tool: str, args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    props = SCHEMAS[tool]["properties"]
    out, notes = dict(args), []
    for param, aliases in PARAM_ALIASES.items():
        if param not in props or param in out:
            continue
        alias = next((a for a in aliases if a in out and a not in props), None)
        if alias is not None:
            out[param] = out.pop(alias)
            notes.append(f"parameter `{alias}` of {tool} was taken as `{param}`")
    return out, notes


# -- schema checking -----------------------------------------------------------------

def check_object(schema: dict[str, Any], value: dict[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    """(checked copy, names of unknown parameters dropped). Raises ArgumentError."""
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in props and item is not None:
            out[key] = check_value(props[key], item, f"{where}{key}")
    missing = [k for k in schema.get("required", []) if k not in out]
    if missing:
        wanted = ", ".join(f"'{where}{k}' ({_type_of(props.get(k, {}))})" for k in missing)
        raise ArgumentError(f"missing required parameter{'s' if len(missing) > 1 else ''} {wanted}")
    return out, [k for k in value if k not in props]


def check_value(schema: dict[str, Any], value: Any, where: str) -> Any:
    kind = schema.get("type")
    coerced = _coerce(kind, schema, value, where)
    if "enum" in schema and coerced not in schema["enum"]:
        raise ArgumentError(f"parameter '{where}' must be one of {', '.join(map(repr, schema['enum']))}; "
                            f"you sent {_shown(value)}")
    return coerced


def _coerce(kind: str | None, schema: dict[str, Any], value: Any, where: str) -> Any:
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value.strip())
    elif kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
    elif kind == "array":
        return _coerce_array(schema, value, where)
    elif kind == "object":
        if isinstance(value, str) and value.strip().startswith("{"):
            value = _json_or_none(value)
        if isinstance(value, dict):
            return check_object(schema, value, where=f"{where}.")[0]
    else:
        return value
    raise ArgumentError(f"parameter '{where}' must be {TYPE_WORDS.get(kind, kind)}; you sent {_shown(value)}")


def _coerce_array(schema: dict[str, Any], value: Any, where: str) -> list[Any]:
    items = schema.get("items", {})
    if isinstance(value, str):
        parsed = _json_or_none(value) if value.strip().startswith("[") else None
        if isinstance(parsed, list):
            value = parsed
        elif items.get("type") == "string":
            value = [value]
    elif isinstance(value, dict) and items.get("type") == "object":
        value = [value]
    if not isinstance(value, list):
        raise ArgumentError(f"parameter '{where}' must be a list; you sent {_shown(value)}")
    return [check_value(items, v, f"{where}[{i}]") for i, v in enumerate(value)] if items else value


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "any")
    if kind == "array" and "items" in schema:
        return f"list of {schema['items'].get('type', 'any')}"
    return kind


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            dict: "an object"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"{_kind(value)} {text[:80]}{'...' if len(text) > 80 else ''}"
