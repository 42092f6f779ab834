"""Tool calls that a model wrote as text instead of sending them as tool calls.

Local servers without a tool-call parser, and models trained on another format, put
the call in the message text:

    <tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>
    ```json
    {"name": "run_tests", "arguments": {}}
    ```

`extract_tool_calls(text)` returns them as `ToolCall`s, but only where that is
unambiguous: a JSON object (or a list of them) whose `name` is a known tool and whose
arguments (`arguments` or `parameters`) are an object. Anything else is left to the
text protocol (edit blocks, fenced commands, FINISH).
"""

from __future__ import annotations

import json
import re

from codeagent.agent.validate import EDITOR_TOOLS, PATCH_TOOLS, SCHEMAS, TOOL_ALIASES
from codeagent.models.base import ToolCall

TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
FENCED_JSON = re.compile(r"```(?:json|tool_call|tool)?\s*\n(\{.*?\}|\[.*?\])\s*```", re.S)
KNOWN = set(SCHEMAS) | set(TOOL_ALIASES) | set(EDITOR_TOOLS) | set(PATCH_TOOLS)


def extract_tool_calls(text: str, step: int = 0) -> list[ToolCall]:
    blocks = TAGGED.findall(text) or FENCED_JSON.findall(text)
    calls: list[ToolCall] = []
    for block in blocks:
        try:
            value = json.loads(block)
        except json.JSONDecodeError:
            continue
        for item in value if isinstance(value, list) else [value]:
            call = _as_call(item, f"text_{step}_{len(calls) + 1}")
            if call is not None:
                calls.append(call)
    return calls


def _as_call(item: object, call_id: str) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name") or item.get("tool")
    args = item.get("arguments", item.get("parameters", item.get("args", {})))
    if not isinstance(name, str) or name not in KNOWN:
        return None
    if isinstance(args, str):
        return ToolCall(call_id, name, args)
    if not isinstance(args, dict):
        return None
    return ToolCall(call_id, name, json.dumps(args))
