"""Time limits of OpenAIModel against the real local server: the stream idle timeout,
the first-token allowance, the call's total limit (retries included) and the caller's
deadline, which cuts the connection within about a second."""

from __future__ import annotations

import time

import pytest
from openai_server import OpenAIServer, Turn, error, openai_server, rate_limited  # noqa: F401

from codeagent.errors import CodeAgentError, DeadlineReached, ModelError
from codeagent.models.base import Message
from codeagent.models.openai_compat import OpenAIModel
from codeagent.models.scripted import ScriptedModel

HI = [Message("user", "fix the bug")]


def make(server: OpenAIServer, **kw) -> OpenAIModel:
    options = {"api_key": "k", "backoff_base": 0.001, "timeout": 10.0, "max_retries": 3, **kw}
    return OpenAIModel("m", base_url=server.base_url, **options)


def wait_for(predicate, seconds: float = 3.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_stalled_stream_is_cut_by_the_idle_timeout_and_retried(openai_server):
    openai_server.push(Turn(text="I will now think very hard", chunk_size=2, stall_after=4), Turn(text="ok"))
    retries = []
    started = time.monotonic()
    model = make(openai_server, idle_timeout=0.3, on_retry=lambda n, d, why: retries.append(why))
    assert model.complete(HI, []).message.content == "ok"
    assert time.monotonic() - started < 3
    assert len(openai_server.chat_requests) == 2
    assert "stalled: no data for 0.3s" in retries[0]
    assert wait_for(lambda: openai_server.disconnects == 1)  # the stalled request was hung up on


def test_slow_but_steady_stream_is_not_cut(openai_server):
    text = "steady " * 12  # 28 events, 0.05 s apart: 1.4 s in all, 5x the idle timeout
    openai_server.push(Turn(text=text, chunk_size=3, chunk_delay=0.05))
    started = time.monotonic()
    reply = make(openai_server, idle_timeout=0.3).complete(HI, [])
    assert time.monotonic() - started > 1.0
    assert reply.message.content == text and reply.finish_reason == "stop"
    assert len(openai_server.chat_requests) == 1


def test_slow_prompt_processing_is_allowed_before_the_first_token(openai_server):
    openai_server.push(Turn(text="after a long prompt", first_delay=0.8))
    reply = make(openai_server, idle_timeout=0.3, first_token_timeout=3.0).complete(HI, [])
    assert reply.message.content == "after a long prompt"
    assert len(openai_server.chat_requests) == 1


def test_reply_cut_by_the_total_limit_is_handed_back_not_retried(openai_server):
    args = '{"path": "a.py", "content": "' + "x" * 400 + '"}'
    openai_server.push(Turn(tool_calls=[("write_file", args)], chunk_size=4, chunk_delay=0.02), Turn(text="never"))
    reply = make(openai_server, timeout=0.6, idle_timeout=0.3).complete(HI, [])
    assert reply.finish_reason == "length"
    call = reply.message.tool_calls[0]
    assert call.name == "write_file" and args.startswith(call.arguments) and len(call.arguments) < len(args)
    assert len(openai_server.chat_requests) == 1


def test_retries_are_budgeted_by_time(openai_server):
    openai_server.push(*[Turn(text="stuck", stall_after=1) for _ in range(20)])  # headers, then silence
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"no time left for a retry|took longer than 1.2s"):
        make(openai_server, timeout=1.2, idle_timeout=0.2, max_retries=50, backoff_base=0.05).complete(HI, [])
    assert time.monotonic() - started < 2.5
    assert 2 <= len(openai_server.chat_requests) < 10


@pytest.mark.parametrize("turn", [
    Turn(text="x" * 200, chunk_size=1, chunk_delay=0.05),  # mid-stream
    Turn(text="late", delay=10.0),  # waiting for the headers
    Turn(text="late", first_delay=10.0),  # headers in, waiting for the first token
])
def test_deadline_cuts_the_call_within_a_second(openai_server, turn):
    openai_server.push(turn)
    deltas = []
    started = time.monotonic()
    with pytest.raises(DeadlineReached) as info:
        make(openai_server).complete(HI, [], deadline=started + 1.0, on_delta=deltas.append)
    took = time.monotonic() - started
    assert 1.0 <= took < 2.0, took
    assert not isinstance(info.value, ModelError) and isinstance(info.value, CodeAgentError)
    assert len(openai_server.chat_requests) == 1
    if turn.chunk_delay:
        assert deltas  # it was streaming when cut
        assert wait_for(lambda: openai_server.disconnects == 1)  # the server saw the hang-up


def test_deadline_during_backoff(openai_server):
    openai_server.push(rate_limited(30), Turn(text="never"))
    heard = []
    started = time.monotonic()
    with pytest.raises(DeadlineReached):
        make(openai_server, timeout=60, retry_after_cap=60, on_retry=lambda n, d, why: heard.append(d)).complete(
            HI, [], deadline=started + 1.5)
    assert 1.5 <= time.monotonic() - started < 2.5
    assert heard == [30] and len(openai_server.chat_requests) == 1  # it slept toward the retry, cut short


def test_deadline_already_past_sends_nothing(openai_server):
    with pytest.raises(DeadlineReached):
        make(openai_server).complete(HI, [], deadline=time.monotonic() - 1)
    assert openai_server.chat_requests == []
    with pytest.raises(DeadlineReached):
        ScriptedModel(["hi"]).complete(HI, [], deadline=time.monotonic() - 1)


def test_deadline_in_time_changes_nothing(openai_server):
    openai_server.push(error(500, "hiccup"), Turn(text="ok"))
    model = make(openai_server)
    assert model.complete(HI, [], deadline=time.monotonic() + 30).message.content == "ok"
    scripted = ScriptedModel(["hi"])
    assert scripted.complete(HI, [], deadline=time.monotonic() + 30).message.content == "hi"


@pytest.mark.parametrize("turn", [Turn(text="x" * 200, chunk_size=1, chunk_delay=0.05), Turn(text="late", delay=10.0)])
def test_deadline_cuts_a_call_after_another_request_on_the_same_model(openai_server, turn):
    openai_server.push(turn)
    model = make(openai_server)
    model.check()  # GET /models leaves a kept-alive connection a chat request could reuse
    started = time.monotonic()
    with pytest.raises(DeadlineReached):
        model.complete(HI, [], deadline=started + 1.0)
    assert time.monotonic() - started < 2.0
