"""The Chat Completions wire format, both ways: our `Message` as a request message, and
the pieces of a reply (plain JSON, streamed or not) checked and folded back together.
A reply that is not shaped as the protocol says raises `openai.OpenAIError`, which the
client classifies as a malformed reply."""

from __future__ import annotations

import json
from typing import Any, Mapping

import openai

from codeagent.models.base import DeltaCallback, Message, ToolCall


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


def merge_call_delta(slots: dict[int, dict[str, Any]], call: Mapping[str, Any]) -> None:
    """Fold one streamed tool-call delta into its slot, keyed by index. Argument pieces
    are kept in a list and joined once (`call_arguments`): adding each piece to a string
    would copy the whole text per piece, quadratic in a long write_file."""
    index = call.get("index")
    if index is None:  # servers that omit the index: a new id opens a new call
        index = len(slots) if (call.get("id") or not slots) else max(slots)
    slot = slots.setdefault(index, {"id": "", "name": "", "pieces": []})
    if call.get("id"):
        slot["id"] = call["id"]
    function = call.get("function")
    if isinstance(function, Mapping):
        if function.get("name"):
            slot["name"] = function["name"]
        if function.get("arguments"):
            slot["pieces"].append(raw_arguments(function["arguments"]))


def call_arguments(slot: Mapping[str, Any]) -> str:
    """The whole argument text of a slot filled by `merge_call_delta`."""
    return "".join(slot["pieces"])


class Assembly:
    """A streamed reply folded together chunk by chunk. What has arrived stays usable
    when the stream is cut short."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.slots: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: Mapping[str, Any] | None = None
        self.events = 0

    def add(self, chunk: Any, on_delta: DeltaCallback | None) -> None:
        chunk = json_object(chunk, "stream chunk")
        self.events += 1
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            choice = json_object(choice, "choice")
            delta = json_object(choice.get("delta") or {}, "delta")
            if delta.get("content"):
                self.text.append(delta["content"])
                if on_delta is not None:
                    on_delta(delta["content"])
            for call in delta.get("tool_calls") or []:
                merge_call_delta(self.slots, json_object(call, "tool call"))
            self.finish = choice.get("finish_reason") or self.finish

    @property
    def started(self) -> bool:
        """Some text or a tool call has arrived."""
        return bool(self.text or self.slots)

    def message(self) -> Message:
        calls = [ToolCall(id=slot["id"] or f"call_{i}", name=slot["name"], arguments=call_arguments(slot))
                 for i, slot in sorted(self.slots.items())]
        return Message("assistant", "".join(self.text) or None, tool_calls=calls)
