"""The OpenAI-compatible Chat Completions client: OpenAI, Ollama, vLLM, llama.cpp,
OpenRouter, anything that speaks `POST {base_url}/chat/completions` with tools.

Owns: the request (its wire format is in `wire`) and the reply read back into a
`ModelReply` (streamed or not), bounded retries with backoff, per-call timeouts,
usage and cost, and turning provider faults into ours:

    429 / 408 / 409 / 5xx / connection error / timeout  retried (backoff + jitter,
                                                        Retry-After honoured, capped)
    400 "maximum context length" and friends           ContextLengthError (no retry)
    401 / 403                                           ModelUnavailableError (key hint)
    404                                                 ModelUnavailableError (model name)
    429 insufficient_quota                              ModelUnavailableError
    other 4xx                                           ModelError with the server's words
    retries exhausted                                   ModelError; ModelUnavailableError
                                                        when the endpoint never answered

Loop signals are passed through untouched: invalid JSON in tool arguments (raw text),
finish_reason "length", a reply with neither text nor tool calls.
Provider types never leave this module, and the API key never appears in a message,
a log line or an exception.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import openai

from codeagent.errors import CodeAgentError, ContextLengthError, ModelError, ModelUnavailableError
from codeagent.models.base import DeltaCallback, Message, ModelReply, ToolCall, ToolSpec, Usage
from codeagent.models.pricing import cost_of, find_price
from codeagent.models.wire import json_object, merge_call_delta, raw_arguments, to_wire

log = logging.getLogger("codeagent.models")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "no-key-needed"  # local servers (Ollama, llama.cpp, vLLM) accept any key
CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|maximum context|context window|context size|exceed_context_size"
    r"|prompt is too long|input is too long|too many tokens|exceeds the maximum number of tokens",
    re.IGNORECASE,
)
RetryCallback = Callable[[int, float, str], None]  # (attempt, delay seconds, reason)


@dataclass
class _Fault:
    """A classified provider failure: retry it, or raise `error`."""

    error: CodeAgentError
    retryable: bool = False
    retry_after: float | None = None


class _DeadlineExceeded(Exception):
    """The whole call (a slow-dripping stream included) outlived the timeout."""


class OpenAIModel:
    """A `Model` on any OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        stream: bool = True,
        context_window: int = 128_000,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 60.0,
        on_retry: RetryCallback | None = None,
    ):
        self.name = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.stream = stream
        self.context_window = context_window
        self.price = find_price(model, prices)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.on_retry = on_retry
        self.retries = 0  # retries made over this model's life, for stats
        self._stream_usage = True  # ask for usage in streams until a server refuses
        self._secret = api_key or ""
        self._client = self._make_client()

    def _make_client(self) -> openai.OpenAI:
        # the SDK's own retries are off: ours below are bounded, logged and classified
        return openai.OpenAI(api_key=self._secret or PLACEHOLDER_KEY, base_url=self.base_url,
                             timeout=self.timeout, max_retries=0)

    def __repr__(self) -> str:
        return f"OpenAIModel({self.name!r}, base_url={self.shown_url!r})"

    def __getstate__(self) -> dict[str, Any]:  # picklable (batch workers): the client is rebuilt
        return {k: v for k, v in self.__dict__.items() if k != "_client"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = self._make_client()

    def close(self) -> None:
        """Release the HTTP connections (the model stays usable: a new call reconnects)."""
        self._client.close()
        self._client = self._make_client()

    @property
    def shown_url(self) -> str:
        """The base URL as safe to show: any user:password@ part removed."""
        parts = urlsplit(self.base_url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    # -- the Model protocol ------------------------------------------------------------
    def complete(
        self, messages: list[Message], tools: list[ToolSpec], *, on_delta: DeltaCallback | None = None
    ) -> ModelReply:
        """One assistant turn, retried on transient faults; raises ModelError subclasses."""
        wire = [to_wire(m) for m in messages]
        specs = [t.to_openai() for t in tools]
        attempt = 0
        while True:
            try:
                return self._attempt(wire, specs, on_delta)
            except Exception as exc:  # classified below; anything unknown is re-raised
                fault = self._classify(exc)
                if fault is None:
                    raise
            if self._stream_options_refused(fault):
                continue
            if not fault.retryable or attempt >= self.max_retries:
                if fault.retryable and attempt:
                    fault.error.message += f" (gave up after {attempt + 1} attempts)"
                raise fault.error from None
            delay = self._backoff(attempt, fault.retry_after)
            attempt += 1
            self.retries += 1
            log.warning("model call failed (%s); retry %d/%d in %.2fs",
                        fault.error.message, attempt, self.max_retries, delay)
            if self.on_retry is not None:
                self.on_retry(attempt, delay, fault.error.message)
            time.sleep(delay)

    def check(self) -> None:
        """One cheap request (GET /models) so a front door can fail fast when the
        endpoint is unreachable or refuses the key. A server without /models passes."""
        try:
            self._client.with_options(timeout=min(self.timeout, 10.0)).models.list()
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                raise self._auth_error(exc.status_code) from None
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from None
        except (openai.OpenAIError, ValueError):
            pass  # it answered, if oddly: the first real call will say more

    # -- one attempt -------------------------------------------------------------------
    def _attempt(self, wire: list[dict], specs: list[dict], on_delta: DeltaCallback | None) -> ModelReply:
        """One request, sent as a plain JSON body and read back as plain dicts: the SDK's
        typed `chat.completions.create` re-walks every message on every call (about 60 ms
        of CPU for a 20-step conversation), which is most of an agent step's own cost."""
        body: dict[str, Any] = {"model": self.name, "messages": wire}
        if specs:
            body["tools"] = specs
        options: dict[str, Any] = {"timeout": self.timeout}
        deadline = time.monotonic() + self.timeout
        if not self.stream:
            completion = self._client.post("/chat/completions", body=body, cast_to=object, options=options)
            return self._from_completion(json_object(completion, "reply"))
        body["stream"] = True
        if self._stream_usage:
            body["stream_options"] = {"include_usage": True}
        chunks = self._client.post("/chat/completions", body=body, cast_to=object, options=options,
                                   stream=True, stream_cls=openai.Stream[object])
        try:
            return self._from_stream(chunks, on_delta, deadline)
        finally:
            chunks.close()

    def _from_completion(self, completion: Mapping[str, Any]) -> ModelReply:
        choices = completion.get("choices") or []
        if not choices:
            return ModelReply(Message("assistant", None), self._usage(completion.get("usage")), "stop")
        choice = json_object(choices[0], "choice")
        message = json_object(choice.get("message") or {}, "message")
        calls = [
            ToolCall(id=call.get("id") or f"call_{i}", name=call["function"].get("name") or "",
                     arguments=raw_arguments(call["function"].get("arguments")))
            for i, call in enumerate(message.get("tool_calls") or [])
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping)
        ]
        reply = Message("assistant", message.get("content") or None, tool_calls=calls)
        finish = choice.get("finish_reason") or ("tool_calls" if calls else "stop")
        return ModelReply(reply, self._usage(completion.get("usage")), finish)

    def _from_stream(self, chunks: Iterable[Any], on_delta: DeltaCallback | None, deadline: float) -> ModelReply:
        text: list[str] = []
        slots: dict[int, dict[str, str]] = {}
        finish, usage = None, None
        for chunk in chunks:
            if time.monotonic() > deadline:
                raise _DeadlineExceeded()
            chunk = json_object(chunk, "stream chunk")
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                choice = json_object(choice, "choice")
                delta = json_object(choice.get("delta") or {}, "delta")
                if delta.get("content"):
                    text.append(delta["content"])
                    if on_delta is not None:
                        on_delta(delta["content"])
                for call in delta.get("tool_calls") or []:
                    merge_call_delta(slots, json_object(call, "tool call"))
                finish = choice.get("finish_reason") or finish
        calls = [
            ToolCall(id=slot["id"] or f"call_{i}", name=slot["name"], arguments=slot["arguments"])
            for i, slot in (sorted(slots.items()))
        ]
        reply = Message("assistant", "".join(text) or None, tool_calls=calls)
        return ModelReply(reply, self._usage(usage), finish or ("tool_calls" if calls else "stop"))

    def _usage(self, raw: Mapping[str, Any] | None) -> Usage:
        """Our Usage from the provider's (which may be missing or partial)."""
        raw = raw if isinstance(raw, Mapping) else {}
        prompt = int(raw.get("prompt_tokens") or 0)
        completion = int(raw.get("completion_tokens") or 0)
        details = raw.get("prompt_tokens_details")
        cached = int((details.get("cached_tokens") if isinstance(details, Mapping) else 0) or 0)
        cached = cached or int(raw.get("prompt_cache_hit_tokens") or 0)  # DeepSeek's spelling
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached, calls=1)
        if self.price is None:
            usage.cost_unknown = True
        else:
            usage.cost = cost_of(self.price, prompt, completion, cached)
        return usage

    # -- faults ------------------------------------------------------------------------
    def _classify(self, exc: Exception) -> _Fault | None:
        """Our fault for a provider failure, or None for an exception that is not one."""
        if isinstance(exc, (openai.APITimeoutError, _DeadlineExceeded)):
            return _Fault(ModelError(f"model request to {self.shown_url} timed out after {self.timeout:g}s"), True)
        if isinstance(exc, openai.APIConnectionError):
            return _Fault(self._unreachable(exc), True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_fault(exc)
        if isinstance(exc, openai.APIError):  # an error event inside a stream
            words = self._server_words(exc)
            if CONTEXT_PATTERNS.search(words):
                return _Fault(self._context_error(words))
            return _Fault(ModelError(f"model stream from {self.shown_url} failed: {words}"), True)
        if isinstance(exc, (json.JSONDecodeError, openai.OpenAIError)):
            return _Fault(ModelError(f"malformed reply from {self.shown_url}: {self._scrub(str(exc))[:200]}"), True)
        return None

    def _status_fault(self, exc: Any) -> _Fault:
        status, words = exc.status_code, self._server_words(exc)
        code = str(getattr(exc, "code", "") or "")
        where = f"{self.shown_url} (HTTP {status})"
        if status in (401, 403):
            return _Fault(self._auth_error(status))
        if status == 404:
            return _Fault(ModelUnavailableError(
                f"model {self.name!r} not found at {where}: {words}",
                hint="check the model name (--model) and that the base URL ends in /v1 where the server needs it",
            ))
        if status == 429 and code == "insufficient_quota":
            return _Fault(ModelUnavailableError(f"the account's quota is used up at {where}: {words}"))
        if status in (400, 413, 422) and (code == "context_length_exceeded" or CONTEXT_PATTERNS.search(words)):
            return _Fault(self._context_error(words))
        if status in (408, 409, 429) or status >= 500:
            retry_after = _retry_after(exc.response.headers) if status in (429, 503) else None
            return _Fault(ModelError(f"model endpoint {where}: {words}"), True, retry_after)
        return _Fault(ModelError(f"model endpoint {where} refused the request: {words}"))

    def _stream_options_refused(self, fault: _Fault) -> bool:
        """Old servers reject `stream_options`: stop sending it and try again at once."""
        if self.stream and self._stream_usage and not fault.retryable and "stream_options" in fault.error.message:
            self._stream_usage = False
            log.info("endpoint %s refuses stream_options; streaming without usage", self.shown_url)
            return True
        return False

    def _auth_error(self, status: int) -> ModelUnavailableError:
        return ModelUnavailableError(
            f"{self.shown_url} refused the API key (HTTP {status})",
            hint="set OPENAI_API_KEY (or api_key in the user config file) to a valid key for this endpoint",
        )

    def _unreachable(self, exc: Exception) -> ModelUnavailableError:
        cause = exc.__cause__ or exc.__context__
        detail = f": {self._scrub(str(cause))[:200]}" if cause else ""
        return ModelUnavailableError(
            f"cannot reach the model endpoint {self.shown_url}{detail}",
            hint="is the server running? set the endpoint with --base-url or OPENAI_BASE_URL",
        )

    def _context_error(self, words: str) -> ContextLengthError:
        return ContextLengthError(f"the prompt exceeds the context window of {self.name!r}: {words}")

    def _server_words(self, exc: Any) -> str:
        """What the server said, scrubbed of the key and kept short."""
        body = getattr(exc, "body", None)
        if isinstance(body, Mapping):
            words = body.get("message") or body.get("error") or json.dumps(body)
        else:
            words = body if isinstance(body, str) and body else getattr(exc, "message", str(exc))
        return self._scrub(str(words)).strip()[:500] or "(no message)"

    def _scrub(self, text: str) -> str:
        if len(self._secret) >= 4:
            text = text.replace(self._secret, "****")
            # providers echo a key shortened as sk-abc...wxyz; drop any long piece of it
            for piece in re.findall(r"[A-Za-z0-9_\-]{8,}", text):
                if piece in self._secret:
                    text = text.replace(piece, "****")
        return text

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        delay = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return delay * (0.5 + random.random() / 2)


def _retry_after(headers: Mapping[str, str]) -> float | None:
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
