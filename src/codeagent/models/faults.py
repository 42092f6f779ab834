"""Provider failures turned into ours, for one endpoint (an `OpenAIModel`): what is
retried, what is the caller's to fix, and the server's words made safe to show (the key
scrubbed, an HTML error page cut down to its title)."""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import openai

from codeagent.errors import CodeAgentError, ContextLengthError, ModelError, ModelUnavailableError

if TYPE_CHECKING:
    from codeagent.models.openai_compat import OpenAIModel

CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|maximum context|context window|context size|exceed_context_size"
    r"|prompt is too long|input is too long|too many tokens|exceeds the maximum number of tokens",
    re.IGNORECASE,
)


@dataclass
class Fault:
    """A classified provider failure: retry it, or raise `error`. `words` are the
    server's (for mending the request)."""

    error: CodeAgentError
    retryable: bool = False
    retry_after: float | None = None
    words: str = ""


class Cut(Exception):
    """The watch cut the request: `reason` is first_token, idle or total."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unfinished(Exception):
    """A stream ended without a finish_reason: the connection dropped (or it was no stream)."""

    def __init__(self, events: int):
        super().__init__(events)
        self.events = events


def classify(model: "OpenAIModel", exc: Exception) -> Fault | None:
    """Our fault for a provider failure, or None for an exception that is not one."""
    if isinstance(exc, Cut):
        return _cut_fault(model, exc.reason)
    if isinstance(exc, Unfinished):
        what = "broke off before the reply was complete" if exc.events else "held no stream events"
        return Fault(ModelError(f"the stream from {model.shown_url} {what}"), True)
    if isinstance(exc, openai.APITimeoutError):
        return Fault(ModelError(f"model request to {model.shown_url} timed out"), True)
    if isinstance(exc, openai.APIConnectionError):
        return Fault(unreachable(model, exc), True)
    if isinstance(exc, openai.APIStatusError):
        return _status_fault(model, exc)
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        words = _server_words(model, exc)
        if CONTEXT_PATTERNS.search(words):
            return Fault(_context_error(model, words), words=words)
        return Fault(ModelError(f"model stream from {model.shown_url} failed: {words}"), True)
    if isinstance(exc, (json.JSONDecodeError, openai.OpenAIError)):
        return Fault(ModelError(f"malformed reply from {model.shown_url}: {model.scrub(str(exc))[:200]}"), True)
    return None


def _cut_fault(model: "OpenAIModel", reason: str) -> Fault:
    if reason == "first_token":
        return Fault(ModelError(f"no reply from {model.shown_url} within {model.first_token_timeout:g}s "
                                "(first_token_timeout)"), True)
    if reason == "idle":
        return Fault(ModelError(f"the stream from {model.shown_url} stalled: no data for "
                                f"{model.idle_timeout:g}s (stream_idle_timeout)"), True)
    return Fault(ModelError(f"the model call to {model.shown_url} took longer than {model.timeout:g}s "
                            "(request_timeout)"))


def _status_fault(model: "OpenAIModel", exc: Any) -> Fault:
    status, words = exc.status_code, _server_words(model, exc)
    code = str(getattr(exc, "code", "") or "")
    where = f"{model.shown_url} (HTTP {status})"
    if status in (401, 403):
        return Fault(auth_error(model.shown_url, status))
    if status == 404:
        return Fault(ModelUnavailableError(
            f"model {model.name!r} not found at {where}: {words}",
            hint="check the model name (--model) and that the base URL ends in /v1 where the server needs it",
        ))
    if status == 429 and code == "insufficient_quota":
        return Fault(ModelUnavailableError(f"the account's quota is used up at {where}: {words}"))
    if status in (400, 413, 422) and (code == "context_length_exceeded" or CONTEXT_PATTERNS.search(words)):
        return Fault(_context_error(model, words), words=words)
    if status in (408, 409, 429) or status >= 500:
        asked = retry_after(exc.response.headers) if status in (429, 503) else None
        return Fault(ModelError(f"model endpoint {where}: {words}"), True, asked)
    return Fault(ModelError(f"model endpoint {where} refused the request: {words}"), words=words)


def auth_error(shown_url: str, status: int) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"{shown_url} refused the API key (HTTP {status})",
        hint="set OPENAI_API_KEY (or api_key in the user config file) to a valid key for this endpoint",
    )


def unreachable(model: "OpenAIModel", exc: Exception) -> ModelUnavailableError:
    cause = exc.__cause__ or exc.__context__
    detail = f": {model.scrub(str(cause))[:200]}" if cause else ""
    return ModelUnavailableError(
        f"cannot reach the model endpoint {model.shown_url}{detail}",
        hint="is the server running? set the endpoint with --base-url or OPENAI_BASE_URL",
    )


def _context_error(model: "OpenAIModel", words: str) -> ContextLengthError:
    return ContextLengthError(f"the prompt exceeds the context window of {model.name!r}: {words}")


def _server_words(model: "OpenAIModel", exc: Any) -> str:
    """What the server said, scrubbed of the key and kept short."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        words = body.get("message") or body.get("error") or json.dumps(body)
    else:
        words = body if isinstance(body, str) and body else getattr(exc, "message", str(exc))
    return model.scrub(plain(str(words))).strip()[:500] or "(no message)"


def scrub(secret: str, text: str) -> str:
    """`text` without the key `secret` (or any long piece of it)."""
    if len(secret) >= 4:
        text = text.replace(secret, "****")
        # providers echo a key shortened as sk-abc...wxyz; drop any long piece of it
        for piece in re.findall(r"[A-Za-z0-9_\-]{8,}", text):
            if piece in secret:
                text = text.replace(piece, "****")
    return text


_TAG = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def plain(words: str) -> str:
    """An HTML error page (a proxy's 502, a gateway's login page) as a short line."""
    head = words.lstrip()[:300].lower()
    if not (head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head):
        return words
    title = _TITLE.search(words)
    text = title.group(1) if title else _TAG.sub(" ", words)
    return " ".join(text.split())[:200] + " (an HTML page, not an API reply: a proxy or gateway answered)"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by retry-after-ms or Retry-After (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None
