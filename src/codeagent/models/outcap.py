"""The per-call output cap: which request field carries it, and how to mend a refusal.

OpenAI's own endpoint (and its reasoning models anywhere: o1, o3, o4, gpt-5) wants
`max_completion_tokens` and rejects `max_tokens`; llama.cpp, vLLM, Ollama and most
other servers take `max_tokens`. The field is guessed from the endpoint and the model
name; a 400 that names the field as unsupported switches it (once, remembered by the
client). A 400 saying the cap is too large gives a smaller cap: "supports at most N
completion tokens" (remembered), or vLLM's "maximum context length is L ... P in the
messages" (L - P, for this call only: the prompt grows).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

NEW_FIELD = "max_completion_tokens"
OLD_FIELD = "max_tokens"
MIN_ROOM = 256  # fewer tokens than this left for the reply: the prompt is the problem

_REASONING = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-5)", re.IGNORECASE)
_REFUSED = re.compile(r"unsupported|not supported|unrecognized|unknown|not permitted|not allowed"
                      r"|extra (?:inputs|fields)|instead|invalid (?:field|param|argument)|unexpected", re.IGNORECASE)
_AT_MOST = re.compile(r"(?:at most|less than or equal to|<=)\s*`?(\d+)`?(?:\s+(?:completion|output))?", re.IGNORECASE)
_LIMIT = re.compile(r"maximum context length is (\d+)", re.IGNORECASE)
_USED = re.compile(r"(\d+) in the messages|has (\d+) input tokens|(\d+) tokens? (?:in|from) the (?:input|prompt)",
                   re.IGNORECASE)


def field_for(model: str, base_url: str) -> str:
    """The field the endpoint most likely expects the cap in."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.openai.com" or host.endswith(".openai.azure.com") or _REASONING.match(model):
        return NEW_FIELD
    return OLD_FIELD


def other_field(name: str) -> str:
    return OLD_FIELD if name == NEW_FIELD else NEW_FIELD


def field_refused(words: str, name: str) -> bool:
    """The server's words say it does not take the field `name`."""
    if name not in words:
        return False
    if name == OLD_FIELD and NEW_FIELD in words and "instead" in words:
        return True
    return bool(_REFUSED.search(words)) and not _AT_MOST.search(words)


def smaller_cap(words: str, name: str, cap: int) -> tuple[int, bool] | None:
    """(a cap the server would take, whether to keep it) when its words say `cap` is too
    large; None when they do not (or when the prompt alone leaves no room for a reply)."""
    if name in words or "completion" in words.lower() or "max_tokens" in words:
        at_most = _AT_MOST.search(words)
        if at_most and MIN_ROOM <= int(at_most.group(1)) < cap:
            return int(at_most.group(1)), True
        limit, used = _LIMIT.search(words), _USED.search(words)
        if limit and used:
            room = int(limit.group(1)) - int(next(g for g in used.groups() if g))
            if MIN_ROOM <= room < cap:
                return room, False
    return None
