"""The Chat Completions wire format, both ways: our `Message` as a request message, and
the pieces of a reply (plain JSON, streamed or not) checked and folded back together.
A reply that is not shaped as the protocol says raises `openai.OpenAIError`, which the
client classifies as a malformed reply."""

from __future__ import annotations

import json
from typing import Any, Mapping

import openai

from codeagent.models.base import Message


def to_wire(message: Message) -> dict[str, Any]:
    """A `Message` as a Chat Completions message dict."""
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        data["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    elif data["content"] is None:
        data["content"] = ""  # many servers refuse a null content without tool calls
    if message.role == "tool":
        data["tool_call_id"] = message.tool_call_id
    elif message.name:
        data["name"] = message.name
    return data


def raw_arguments(arguments: Any) -> str:
    """Tool arguments as raw text (some servers send an object instead of a string)."""
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def json_object(value: Any, what: str) -> Mapping[str, Any]:
    """`value` when it is a JSON object; otherwise the reply is malformed."""
    if not isinstance(value, Mapping):
        raise openai.OpenAIError(f"expected a JSON object as the {what}, got {str(value)[:100]!r}")
    return value


def merge_call_delta(slots: dict[int, dict[str, str]], call: Mapping[str, Any]) -> None:
    """Fold one streamed tool-call delta into its slot, keyed by index."""
    index = call.get("index")
    if index is None:  # servers that omit the index: a new id opens a new call
        index = len(slots) if (call.get("id") or not slots) else max(slots)
    slot = slots.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if call.get("id"):
        slot["id"] = call["id"]
    function = call.get("function")
    if isinstance(function, Mapping):
        if function.get("name"):
            slot["name"] = function["name"]
        if function.get("arguments"):
            slot["arguments"] += raw_arguments(function["arguments"])
