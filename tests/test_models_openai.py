"""OpenAIModel against a real local OpenAI-compatible server (tests/openai_server.py)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from openai_server import OpenAIServer, Raw, Turn, context_length_error, error, openai_server, rate_limited  # noqa: F401

from codeagent.errors import ContextLengthError, ModelError, ModelUnavailableError
from codeagent.models.base import Message, ToolCall, ToolSpec
from codeagent.models.faults import retry_after as _retry_after
from codeagent.models.openai_compat import OpenAIModel

KEY = "sk-test-SECRETKEY0123456789abcdef"
READ = ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}})
FINISH = ToolSpec("finish", "Finish.", {"type": "object", "properties": {"summary": {"type": "string"}}})
HI = [Message("system", "You are a coding agent."), Message("user", "fix the bug")]


def make(server: OpenAIServer, **kw) -> OpenAIModel:
    options = {"api_key": KEY, "backoff_base": 0.001, "timeout": 5.0, "max_retries": 3, **kw}
    return OpenAIModel(kw.pop("model", "gpt-4.1"), base_url=server.base_url,
                       **{k: v for k, v in options.items() if k != "model"})


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_and_what_the_client_sent(openai_server, stream):
    openai_server.push(Turn(text="reading", tool_calls=[("read_file", {"path": "a.py"}), ("finish", {"summary": "ok"})]))
    history = HI + [
        Message("assistant", None, tool_calls=[ToolCall("call_9", "read_file", '{"path": "b.py"}')]),
        Message("tool", "print('b')", tool_call_id="call_9", name="read_file"),
    ]
    reply = make(openai_server, stream=stream).complete(history, [READ, FINISH])
    assert reply.finish_reason == "tool_calls"
    assert reply.message.content == "reading"
    assert [(c.name, json.loads(c.arguments)) for c in reply.message.tool_calls] == [
        ("read_file", {"path": "a.py"}), ("finish", {"summary": "ok"})]
    assert [c.id for c in reply.message.tool_calls] == ["call_0", "call_1"]
    sent = openai_server.chat_requests[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.body
    assert body["model"] == "gpt-4.1"
    assert [t["function"]["name"] for t in body["tools"]] == ["read_file", "finish"]
    assert body["messages"][2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "b.py"}'}}]}
    assert body["messages"][3] == {"role": "tool", "content": "print('b')", "tool_call_id": "call_9"}
    assert bool(body.get("stream")) is stream
    assert ("stream_options" in body) is stream


def test_streamed_text_and_interleaved_tool_calls_are_assembled(openai_server):
    args_a = {"path": "src/pkg/module_with_long_name.py"}
    args_b = {"summary": "a long summary split across many chunks"}
    openai_server.push(Turn(text="Let me look at the module first.", interleave=True, chunk_size=2,
                            tool_calls=[("read_file", args_a), ("finish", args_b)]))
    deltas: list[str] = []
    reply = make(openai_server).complete(HI, [READ, FINISH], on_delta=deltas.append)
    assert len(deltas) > 5 and "".join(deltas) == "Let me look at the module first."
    assert reply.message.content == "Let me look at the module first."
    assert [json.loads(c.arguments) for c in reply.message.tool_calls] == [args_a, args_b]
    assert openai_server.chat_requests[0].body["stream_options"] == {"include_usage": True}
    assert reply.usage.prompt_tokens == 11 and reply.usage.completion_tokens == 7


def test_stream_without_usage_is_tolerated(openai_server):
    openai_server.push(Turn(text="hi", send_usage=False))
    reply = make(openai_server).complete(HI, [])
    assert reply.message.content == "hi"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.calls) == (0, 0, 1)


def test_server_refusing_stream_options_gets_a_plain_stream(openai_server):
    openai_server.push(error(400, "Unrecognized request argument supplied: stream_options"), Turn(text="ok"))
    model = make(openai_server)
    assert model.complete(HI, []).message.content == "ok"
    first, second = openai_server.chat_requests
    assert "stream_options" in first.body and "stream_options" not in second.body
    openai_server.push(Turn(text="again"))
    model.complete(HI, [])
    assert "stream_options" not in openai_server.chat_requests[2].body


@pytest.mark.parametrize("headers", [{"seconds": 0.3}, {"ms": 300}])
def test_429_then_success_honours_retry_after(openai_server, headers):
    openai_server.push(rate_limited(headers.get("seconds"), retry_after_ms=headers.get("ms")), Turn(text="ok"))
    retries = []
    model = make(openai_server, on_retry=lambda n, delay, why: retries.append((n, delay, why)))
    started = time.monotonic()
    reply = model.complete(HI, [])
    assert reply.message.content == "ok"
    assert time.monotonic() - started >= 0.3
    assert len(retries) == 1 and retries[0][1] == pytest.approx(0.3) and "429" in retries[0][2]
    assert model.retries == 1


def test_retry_after_is_capped(openai_server):
    openai_server.push(rate_limited(3600), Turn(text="ok"))
    started = time.monotonic()
    assert make(openai_server, retry_after_cap=0.05).complete(HI, []).message.content == "ok"
    assert time.monotonic() - started < 60  # not the hour asked for


def test_retry_after_parsing():
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({}) is None


def test_500_then_success(openai_server):
    openai_server.push(error(500, "internal error", type_="server_error"), error(503, "overloaded"), Turn(text="ok"))
    assert make(openai_server).complete(HI, []).message.content == "ok"
    assert len(openai_server.chat_requests) == 3


def test_persistent_500_is_a_model_error_after_bounded_retries(openai_server):
    openai_server.push(*[error(500, "internal error", type_="server_error")] * 10)
    with pytest.raises(ModelError) as info:
        make(openai_server, max_retries=2).complete(HI, [])
    assert type(info.value) is ModelError and info.value.exit_code == 3
    assert len(openai_server.chat_requests) == 3
    assert openai_server.base_url in str(info.value) and "gave up after 3 attempts" in str(info.value)


def test_no_first_token_in_time_is_retried(openai_server):
    openai_server.push(Turn(text="late", delay=10.0), Turn(text="on time"))
    reply = make(openai_server, first_token_timeout=0.5).complete(HI, [])
    assert reply.message.content == "on time"  # the late reply was given up on
    assert len(openai_server.chat_requests) == 2


def test_unstreamed_call_past_request_timeout_is_not_retried(openai_server):
    openai_server.push(Turn(text="late", delay=10.0), Turn(text="never asked"))
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"took longer than 1s \(request_timeout\)") as info:
        make(openai_server, timeout=1.0, stream=False).complete(HI, [])
    assert time.monotonic() - started < 2.5
    assert not isinstance(info.value, ModelUnavailableError)
    assert len(openai_server.chat_requests) == 1  # no time left for a retry


def test_persistent_first_token_timeout_is_a_model_error(openai_server):
    openai_server.push(*[Turn(text="late", delay=3.0)] * 3)
    with pytest.raises(ModelError, match=r"within 0.2s \(first_token_timeout\)") as info:
        make(openai_server, first_token_timeout=0.2, max_retries=1).complete(HI, [])
    assert not isinstance(info.value, ModelUnavailableError) and "gave up after 2 attempts" in str(info.value)


def test_stream_dropped_midway_is_retried(openai_server):
    openai_server.push(Turn(text="partial answer", drop_after=3), Turn(text="whole answer"))
    assert make(openai_server).complete(HI, []).message.content == "whole answer"
    assert len(openai_server.chat_requests) == 2


def test_error_event_inside_a_stream_is_retried(openai_server):
    sse = b'data: {"error": {"message": "model overloaded", "type": "server_error"}}\n\n'
    openai_server.push(Raw(200, sse, {"Content-Type": "text/event-stream"}), Turn(text="ok"))
    assert make(openai_server).complete(HI, []).message.content == "ok"


def test_unreachable_port_is_model_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAIModel("m", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=1, backoff_base=0.001)
    with pytest.raises(ModelUnavailableError) as info:
        model.complete(HI, [])
    assert f"127.0.0.1:{port}" in str(info.value) and info.value.exit_code == 3
    assert "--base-url" in str(info.value)
    with pytest.raises(ModelUnavailableError):
        model.check()


@pytest.mark.parametrize("stream", [False, True])
def test_invalid_tool_argument_json_is_passed_through_raw(openai_server, stream):
    openai_server.push(Turn(tool_calls=[("read_file", '{"path": "a.py"')]))
    reply = make(openai_server, stream=stream).complete(HI, [READ])
    assert reply.message.tool_calls[0].arguments == '{"path": "a.py"'


@pytest.mark.parametrize("stream", [False, True])
def test_reply_without_tool_call(openai_server, stream):
    openai_server.push(Turn(text="I think the bug is in line 3."))
    reply = make(openai_server, stream=stream).complete(HI, [READ])
    assert reply.message.tool_calls == [] and reply.finish_reason == "stop"
    assert reply.message.content == "I think the bug is in line 3."


@pytest.mark.parametrize("stream", [False, True])
def test_empty_reply_is_returned_as_is(openai_server, stream):
    openai_server.push(Turn())
    reply = make(openai_server, stream=stream).complete(HI, [READ])
    assert reply.message.content is None and reply.message.tool_calls == []
    assert reply.finish_reason == "stop"


def test_completion_without_choices_is_an_empty_reply(openai_server):
    openai_server.push(Raw(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}))
    reply = make(openai_server, stream=False).complete(HI, [])
    assert reply.message.content is None and reply.message.tool_calls == []


@pytest.mark.parametrize("stream", [False, True])
def test_finish_reason_length_is_returned(openai_server, stream):
    openai_server.push(Turn(tool_calls=[("read_file", '{"pa')], finish_reason="length"))
    reply = make(openai_server, stream=stream).complete(HI, [READ])
    assert reply.finish_reason == "length" and reply.message.tool_calls[0].arguments == '{"pa'


@pytest.mark.parametrize("reply", [
    context_length_error(),
    error(400, "the request exceeds the available context size, try increasing it", type_="exceed_context_size_error"),
    error(400, "too long", code="context_length_exceeded"),
])
def test_context_length_error(openai_server, reply):
    openai_server.push(reply, Turn(text="never reached"))
    with pytest.raises(ContextLengthError) as info:
        make(openai_server).complete(HI, [])
    assert isinstance(info.value, ModelError)
    assert len(openai_server.chat_requests) == 1  # not retried: the loop compacts first


def test_context_length_error_inside_a_stream(openai_server):
    sse = b'data: {"error": {"message": "maximum context length is 4096 tokens", "type": "invalid_request"}}\n\n'
    openai_server.push(Raw(200, sse, {"Content-Type": "text/event-stream"}))
    with pytest.raises(ContextLengthError):
        make(openai_server).complete(HI, [])


def test_other_400_is_not_retried(openai_server):
    openai_server.push(error(400, "tools[0].function.name: invalid"), Turn(text="never"))
    with pytest.raises(ModelError, match="refused the request: tools"):
        make(openai_server).complete(HI, [])
    assert len(openai_server.chat_requests) == 1


def test_unknown_model_404_is_unavailable(openai_server):
    openai_server.push(error(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(ModelUnavailableError, match="model 'gpt-9' not found"):
        make(openai_server, model="gpt-9").complete(HI, [])


def test_quota_exhausted_is_unavailable_not_retried(openai_server):
    openai_server.push(error(429, "You exceeded your current quota", code="insufficient_quota"), Turn(text="x"))
    with pytest.raises(ModelUnavailableError, match="quota"):
        make(openai_server).complete(HI, [])
    assert len(openai_server.chat_requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_hints_at_the_key_and_never_shows_it(openai_server, status):
    shortened = f"{KEY[:6]}...{KEY[-4:]}"
    openai_server.push(error(status, f"Incorrect API key provided: {KEY} ({shortened})", code="invalid_api_key"))
    with pytest.raises(ModelUnavailableError) as info:
        make(openai_server).complete(HI, [])
    text = f"{info.value} {info.value!r} {info.value.args} {info.value.hint}"
    assert "OPENAI_API_KEY" in text and str(status) in text
    assert KEY not in text and KEY[8:20] not in text
    assert openai_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_key_echoed_in_server_errors_is_scrubbed(openai_server, caplog):
    openai_server.push(*[error(500, f"upstream rejected key {KEY}")] * 2)
    with caplog.at_level("DEBUG"), pytest.raises(ModelError) as info:
        make(openai_server, max_retries=1).complete(HI, [])
    assert "upstream rejected key ****" in str(info.value)
    assert "retry 1/1" in caplog.text and KEY not in caplog.text
    assert KEY not in str(info.value) and KEY not in repr(make(openai_server))


def test_cached_tokens_and_cost(openai_server):
    openai_server.push(Turn(text="ok", prompt_tokens=1000, completion_tokens=100, cached_tokens=400))
    usage = make(openai_server, model="gpt-4.1").complete(HI, []).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (1000, 100, 400)
    assert usage.cost == pytest.approx((600 * 2.0 + 400 * 0.5 + 100 * 8.0) / 1e6)
    assert usage.cost_unknown is False


def test_price_override_and_unknown_model(openai_server):
    openai_server.push(Turn(text="ok", prompt_tokens=2_000_000, completion_tokens=1_000_000, cached_tokens=1_000_000),
                       Turn(text="ok"))
    prices = {"my-local": {"input": 1.0, "output": 2.0, "cached": 0.1}}
    usage = make(openai_server, model="my-local", prices=prices).complete(HI, []).usage
    assert usage.cost == pytest.approx(1.0 + 0.1 + 2.0) and not usage.cost_unknown
    unknown = make(openai_server, model="qwen2.5-coder:7b").complete(HI, []).usage
    assert unknown.cost == 0 and unknown.cost_unknown and unknown.prompt_tokens == 11


def test_exhausted_script_fails_clearly(openai_server):
    with pytest.raises(ModelError, match="no scripted reply left"):
        make(openai_server).complete(HI, [])
    assert len(openai_server.chat_requests) == 1


def test_check_passes_and_reports_refused_key(openai_server):
    model = make(openai_server)
    model.check()
    assert openai_server.requests[-1].path == "/v1/models"
    openai_server.models_reply = error(401, f"bad key {KEY}")
    with pytest.raises(ModelUnavailableError) as info:
        model.check()
    assert KEY not in str(info.value)
    openai_server.models_reply = error(404, "no such route")
    model.check()  # servers without /models still pass


def test_fixed_delay_mode_serves_concurrent_callers():
    def echo(request):
        return Turn(text="echo: " + request.body["messages"][-1]["content"])

    with OpenAIServer(responder=echo, delay=0.2) as server:
        results: dict[int, str] = {}

        def call(i: int) -> None:
            results[i] = make(server).complete([Message("user", f"task {i}")], []).message.content

        threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {i: f"echo: task {i}" for i in range(6)}
        assert server.max_in_flight > 1  # answered in parallel, not one after another
        deadline = time.monotonic() + 5  # a handler counts itself out just after the client has its answer
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.in_flight == 0


SSE = {"Content-Type": "text/event-stream"}


@pytest.mark.parametrize("reply, stream", [
    (Raw(200, b"<html>gateway says hi</html>", headers={"Content-Type": "text/html"}), False),
    (Raw(200, [1, 2, 3]), False),
    (Raw(200, {"choices": ["not an object"]}), False),
    (Raw(200, b"data: [1, 2]\n\ndata: [DONE]\n\n", headers=SSE), True),
    (Raw(200, b'data: {"choices": [{"delta": {"tool_calls": ["x"]}}]}\n\ndata: [DONE]\n\n', headers=SSE), True),
])
def test_malformed_replies_are_model_errors_not_crashes(openai_server, reply, stream):
    for _ in range(2):
        openai_server.push(reply)
    with pytest.raises(ModelError, match="malformed reply"):
        make(openai_server, max_retries=1, stream=stream).complete(HI, [READ])
    assert len(openai_server.requests) == 2  # retried once, like any transient fault
