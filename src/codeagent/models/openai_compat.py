"""The OpenAI-compatible Chat Completions client: OpenAI, Ollama, vLLM, llama.cpp,
OpenRouter, anything that speaks `POST {base_url}/chat/completions` with tools.

Owns: the request (its wire format is in `wire`, the output cap's field in `outcap`)
and the reply read back into a `ModelReply` (streamed or not), time limits (`watch`),
bounded retries with backoff, usage and cost, and turning provider faults into ours:

    429 / 408 / 409 / 5xx (HTML error pages too)       retried (backoff + jitter,
    connection error / dropped or stalled stream        Retry-After honoured, capped),
    no first token in time / 200 that is not JSON       while the call's time allows
    400 naming the cap's field or a too-large cap       re-sent at once, mended
    400 "maximum context length" and friends            ContextLengthError (no retry)
    401 / 403                                           ModelUnavailableError (key hint)
    404                                                 ModelUnavailableError (model name)
    429 insufficient_quota                              ModelUnavailableError
    other 4xx                                           ModelError with the server's words
    the call's own time limit, mid-stream               the partial reply, finish_reason "length"
    the caller's deadline                               DeadlineReached (the stream is cut)
    retries exhausted                                   ModelError; ModelUnavailableError
                                                        when the endpoint never answered

Time: each call (all its attempts and backoff sleeps) has `timeout` seconds in all; a
stream must show its first data within `first_token_timeout` (prompt processing) and
then never go quiet for `idle_timeout`. A stream still delivering is never cut by the
idle rule, and a reply cut by the total limit is handed back, not retried from scratch.

Loop signals are passed through untouched: invalid JSON in tool arguments (raw text),
finish_reason "length", a reply with neither text nor tool calls.
Provider types never leave this module, and the API key never appears in a message,
a log line or an exception.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import openai

from codeagent.errors import DeadlineReached
from codeagent.models.base import DeltaCallback, Message, ModelReply, ToolCall, ToolSpec, Usage
from codeagent.models.faults import Cut, Fault, Unfinished, auth_error, classify, scrub, unreachable
from codeagent.models.outcap import field_for, field_refused, other_field, smaller_cap
from codeagent.models.pricing import cost_of, find_price
from codeagent.models.probe import ServerInfo, identify, kind_of, model_entries, server_root
from codeagent.models.watch import Watch
from codeagent.models.wire import Assembly, json_object, raw_arguments, to_wire

log = logging.getLogger("codeagent.models")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "no-key-needed"  # local servers (Ollama, llama.cpp, vLLM) accept any key
RetryCallback = Callable[[int, float, str], None]  # (attempt, delay seconds, reason)
MAX_MENDS = 3  # requests re-sent at once with a mended body, per call


@dataclass
class _Call:
    """One `complete` call's state across its attempts."""

    ends: float  # monotonic instant: the call's own time is up
    deadline: float | None
    cap: int | None
    attempt: int = 0
    mends: int = 0


class OpenAIModel:
    """A `Model` on any OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 900.0,
        first_token_timeout: float = 300.0,
        idle_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_output_tokens: int | None = 4096,
        max_retries: int = 4,
        stream: bool = True,
        context_window: int = 128_000,
        learn_context_window: bool = False,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 60.0,
        on_retry: RetryCallback | None = None,
    ):
        self.name = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.first_token_timeout = first_token_timeout
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.max_output_tokens = max_output_tokens
        self.max_retries = max_retries
        self.stream = stream
        self.context_window = context_window
        self.learn_context_window = learn_context_window  # take the server's window (describe)
        self.price = find_price(model, prices)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.on_retry = on_retry
        self.retries = 0  # retries made over this model's life, for stats
        self.server: ServerInfo | None = None  # what the server said it is (describe)
        self._stream_usage = True  # ask for usage in streams until a server refuses
        self._cap_field = field_for(model, self.base_url)  # until a server refuses it
        self._secret = api_key or ""
        self._local = threading.local()  # the watch of the request this thread is making
        self._client = self._make_client()

    def _make_client(self) -> openai.OpenAI:
        # the SDK's own retries are off: ours below are bounded, logged and classified
        http = openai.DefaultHttpxClient(event_hooks={"request": [self._on_request], "response": [self._on_response]})
        return openai.OpenAI(api_key=self._secret or PLACEHOLDER_KEY, base_url=self.base_url,
                             timeout=self.timeout, max_retries=0, http_client=http)

    def _on_request(self, request: Any) -> None:
        """Every request gets a connection of its own (`Connection: close`), so a chat
        request never reuses one whose socket its watch has not seen, and a cut hits only
        that request; a watched request reports its new socket to the watch."""
        request.headers["Connection"] = "close"
        watch = getattr(self._local, "watch", None)
        if watch is not None:
            request.extensions["trace"] = watch.trace

    def _on_response(self, response: Any) -> None:
        watch = getattr(self._local, "watch", None)
        if watch is not None:
            watch.adopt(response.extensions.get("network_stream"))

    def __repr__(self) -> str:
        return f"OpenAIModel({self.name!r}, base_url={self.shown_url!r})"

    def __getstate__(self) -> dict[str, Any]:  # picklable (batch workers): the client is rebuilt
        return {k: v for k, v in self.__dict__.items() if k not in ("_client", "_local")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
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
        self, messages: list[Message], tools: list[ToolSpec], *,
        on_delta: DeltaCallback | None = None, deadline: float | None = None,
    ) -> ModelReply:
        """One assistant turn, retried on transient faults within the call's time; raises
        ModelError subclasses, or DeadlineReached once `deadline` (monotonic) passes."""
        wire = [to_wire(m) for m in messages]
        specs = [t.to_openai() for t in tools]
        call = _Call(ends=time.monotonic() + self.timeout, deadline=deadline, cap=self.max_output_tokens)
        while True:
            self._check_deadline(deadline)
            try:
                return self._attempt(self._body(wire, specs, call.cap), on_delta, call)
            except DeadlineReached:
                raise
            except Exception as exc:  # classified below; anything unknown is re-raised
                fault = classify(self, exc)
                if fault is None:
                    raise
            if self._mend(fault, call):
                continue
            if not fault.retryable or call.attempt >= self.max_retries:
                if fault.retryable and call.attempt:
                    fault.error.message += f" (gave up after {call.attempt + 1} attempts)"
                raise fault.error from None
            delay = self._backoff(call.attempt, fault.retry_after)
            if time.monotonic() + delay >= call.ends:
                if deadline is not None and deadline < call.ends:
                    self._sleep(delay, deadline)  # the run's time runs out first: DeadlineReached
                fault.error.message += f" (no time left for a retry: request_timeout is {self.timeout:g}s)"
                raise fault.error from None
            call.attempt += 1
            self.retries += 1
            log.warning("model call failed (%s); retry %d/%d in %.2fs",
                        fault.error.message, call.attempt, self.max_retries, delay)
            if self.on_retry is not None:
                self.on_retry(call.attempt, delay, fault.error.message)
            self._sleep(delay, deadline)

    def _check_deadline(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineReached(f"the time ran out during a model call to {self.shown_url}; the call was cancelled")

    def _sleep(self, seconds: float, deadline: float | None) -> None:
        """Back off, but never past the deadline."""
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        time.sleep(seconds)
        self._check_deadline(deadline)

    # -- what the server is ------------------------------------------------------------
    def describe(self) -> ServerInfo:
        """What the server says it is: GET /models, and /props for llama.cpp. Raises
        ModelUnavailableError when it cannot be reached or refuses the key. With
        `learn_context_window`, a context window the server reports becomes ours."""
        models = self._get("/models")
        props = None
        if kind_of(self.base_url, model_entries(models)) == "llama.cpp":
            props = self._get(server_root(self.base_url) + "/props")
        self.server = identify(self.base_url, models, props)
        if self.learn_context_window and self.server.context_window:
            self.context_window = self.server.context_window
        return self.server

    def check(self) -> None:
        """Fail fast (ModelUnavailableError) when the endpoint is unreachable or refuses
        the key; learn what the server is on the way. A server without /models passes."""
        self.describe()

    def _get(self, path: str) -> Any:
        """The JSON at `path` (relative to the base URL, or absolute); None when the
        server has no such route or answers oddly."""
        try:
            return self._client.get(path, cast_to=object, options={"timeout": min(self.timeout, 10.0)})
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                raise auth_error(self.shown_url, exc.status_code) from None
        except openai.APIConnectionError as exc:
            raise unreachable(self, exc) from None
        except (openai.OpenAIError, ValueError):
            pass  # it answered, if oddly: the first real call will say more
        return None

    # -- one attempt -------------------------------------------------------------------
    def _body(self, wire: list[dict], specs: list[dict], cap: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.name, "messages": wire}
        if specs:
            body["tools"] = specs
        if cap:
            body[self._cap_field] = cap
        if self.stream:
            body["stream"] = True
            if self._stream_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    def _attempt(self, body: dict[str, Any], on_delta: DeltaCallback | None, call: _Call) -> ModelReply:
        """One request under watch, sent as a plain JSON body and read back as plain dicts:
        the SDK's typed `chat.completions.create` re-walks every message on every call
        (about 60 ms of CPU for a 20-step conversation), most of an agent step's own cost."""
        watch = Watch(ends=call.ends, deadline=call.deadline,
                      first_token=self.first_token_timeout if self.stream else None,
                      idle=self.idle_timeout if self.stream else None)
        options: dict[str, Any] = {"timeout": self._http_timeout(call)}
        assembly = Assembly()
        self._local.watch = watch
        try:
            with watch:
                if not self.stream:
                    completion = self._client.post("/chat/completions", body=body, cast_to=object, options=options)
                    return self._from_completion(json_object(completion, "reply"))
                chunks = self._client.post("/chat/completions", body=body, cast_to=object, options=options,
                                           stream=True, stream_cls=openai.Stream[object])
                try:
                    for chunk in chunks:
                        watch.data()
                        assembly.add(chunk, on_delta)
                except openai.APIConnectionError as exc:
                    raise Unfinished(assembly.events) from exc
                finally:
                    chunks.close()
        except Exception as exc:
            if watch.reason is None:
                raise
            return self._after_cut(watch.reason, assembly, exc)
        finally:
            self._local.watch = None
        if assembly.finish is None:
            raise Unfinished(assembly.events)
        return self._reply(assembly)

    def _after_cut(self, reason: str, assembly: Assembly, exc: Exception) -> ModelReply:
        """The watch cut the request: raise what that means, or hand back what arrived."""
        if reason == "deadline":
            raise DeadlineReached(f"the time ran out during a model call to {self.shown_url}; "
                                  "the call was cancelled") from None
        if reason == "total" and assembly.started:
            log.warning("model reply cut off after request_timeout %gs; handing back what arrived", self.timeout)
            return self._reply(assembly, finish="length")
        raise Cut(reason) from exc

    def _http_timeout(self, call: _Call) -> openai.Timeout:
        """The HTTP library's own limits: connecting ends with the call (or deadline); its
        read limit is only a backstop behind the watch."""
        now = time.monotonic()
        left = min(call.ends, call.deadline if call.deadline is not None else call.ends) - now
        backstop = max(self.first_token_timeout, self.idle_timeout) if self.stream else self.timeout
        return openai.Timeout(backstop + 5.0, connect=max(0.05, min(self.connect_timeout, left)))

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

    def _reply(self, assembly: Assembly, finish: str | None = None) -> ModelReply:
        message = assembly.message()
        finish = finish or assembly.finish or ("tool_calls" if message.tool_calls else "stop")
        return ModelReply(message, self._usage(assembly.usage), finish)

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
    def scrub(self, text: str) -> str:
        """`text` safe to show: the API key removed."""
        return scrub(self._secret, text)

    def _mend(self, fault: Fault, call: _Call) -> bool:
        """Re-send at once with a mended request when the server refused a part of it:
        `stream_options` (old servers), the cap's field name, or a cap too large."""
        words = fault.words
        if fault.retryable or not words or call.mends >= MAX_MENDS:
            return False
        if self.stream and self._stream_usage and "stream_options" in words:
            self._stream_usage = False
            log.info("endpoint %s refuses stream_options; streaming without usage", self.shown_url)
        elif call.cap and field_refused(words, self._cap_field):
            self._cap_field = other_field(self._cap_field)
            log.info("endpoint %s wants the output cap as %s", self.shown_url, self._cap_field)
        elif call.cap and (smaller := smaller_cap(words, self._cap_field, call.cap)):
            call.cap, keep = smaller
            if keep:
                self.max_output_tokens = call.cap
            log.info("endpoint %s takes at most %d output tokens here", self.shown_url, call.cap)
        else:
            return False
        call.mends += 1
        return True

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        delay = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return delay * (0.5 + random.random() / 2)
