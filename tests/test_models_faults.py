"""Server faults and the output cap, against the real local OpenAI-compatible server."""

from __future__ import annotations

import json
import time

import pytest
from openai_server import OpenAIServer, Raw, Turn, error, openai_server, rate_limited  # noqa: F401

from codeagent.errors import ContextLengthError, ModelError
from codeagent.models.base import Message, ToolSpec
from codeagent.models.openai_compat import OpenAIModel
from codeagent.models.outcap import field_for, field_refused, smaller_cap
from codeagent.models.wire import call_arguments, merge_call_delta

HI = [Message("user", "fix the bug")]
WRITE = ToolSpec("write_file", "Write.", {"type": "object", "properties": {"path": {"type": "string"},
                                                                        "content": {"type": "string"}}})
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
             b"</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")
HTML = {"Content-Type": "text/html"}


def make(server: OpenAIServer, model: str = "m", **kw) -> OpenAIModel:
    options = {"api_key": "k", "backoff_base": 0.001, "timeout": 10.0, "max_retries": 3, **kw}
    return OpenAIModel(model, base_url=server.base_url, **options)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
@pytest.mark.parametrize("stream", [False, True])
def test_transient_statuses_are_retried_then_succeed(openai_server, status, stream):
    fault = rate_limited(0.01) if status == 429 else error(status, "try again", type_="server_error")
    openai_server.push(fault, fault, Turn(text="ok"))
    assert make(openai_server, stream=stream).complete(HI, []).message.content == "ok"
    assert len(openai_server.chat_requests) == 3


def test_html_error_page_gets_a_clear_message_and_is_retried(openai_server):
    openai_server.push(Raw(502, NGINX_502, HTML), Raw(502, NGINX_502, HTML), Turn(text="ok"))
    heard = []
    model = make(openai_server, on_retry=lambda n, d, why: heard.append(why))
    assert model.complete(HI, []).message.content == "ok"
    assert heard[0].endswith("(HTTP 502): 502 Bad Gateway (an HTML page, not an API reply: a proxy or gateway "
                             "answered)")
    assert "<" not in heard[0]


def test_persistent_html_page_ends_as_model_error_naming_the_page(openai_server):
    openai_server.push(*[Raw(503, b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>", HTML)] * 2)
    with pytest.raises(ModelError, match="Service Unavailable \\(an HTML page") as info:
        make(openai_server, max_retries=1).complete(HI, [])
    assert "gave up after 2 attempts" in str(info.value)


@pytest.mark.parametrize("stream", [False, True])
def test_200_that_is_not_json_is_retried_as_a_transient_fault(openai_server, stream):
    openai_server.push(Raw(200, b"<html><body>Welcome to the captive portal</body></html>", HTML), Turn(text="ok"))
    assert make(openai_server, stream=stream).complete(HI, []).message.content == "ok"
    assert len(openai_server.chat_requests) == 2


def test_200_that_is_not_a_stream_says_so_when_it_persists(openai_server):
    openai_server.push(*[Raw(200, b"<html><body>portal</body></html>", HTML)] * 2)
    with pytest.raises(ModelError, match="held no stream events"):
        make(openai_server, max_retries=1).complete(HI, [])


@pytest.mark.parametrize("drop_after", [2, 5])
def test_stream_dropped_mid_reply_is_retried(openai_server, drop_after):
    openai_server.push(Turn(text="a partial answer", drop_after=drop_after), Turn(text="the whole answer"))
    heard = []
    reply = make(openai_server, on_retry=lambda n, d, why: heard.append(why)).complete(HI, [])
    assert reply.message.content == "the whole answer"
    assert "broke off before the reply was complete" in heard[0]


def test_200kb_reply_streamed_in_small_pieces(openai_server):
    content = "".join(f"line {i}: " + "x" * 60 + "\n" for i in range(3000))  # ~200 KB
    args = {"path": "big.txt", "content": content}
    openai_server.push(Turn(tool_calls=[("write_file", args)], chunk_size=64), Turn(text=content, chunk_size=512))
    model = make(openai_server)
    started = time.monotonic()
    reply = model.complete(HI, [WRITE])
    second = model.complete(HI, [WRITE])
    print(f"two 200 KB replies in {time.monotonic() - started:.2f}s")
    assert json.loads(reply.message.tool_calls[0].arguments) == args
    assert second.message.content == content


def test_folding_many_argument_pieces_is_linear():
    slots: dict = {}
    started = time.monotonic()
    for _ in range(400_000):  # 400 KB, one character per delta; string += per piece is quadratic
        merge_call_delta(slots, {"index": 0, "function": {"arguments": "x"}})
    assert call_arguments(slots[0]) == "x" * 400_000
    assert time.monotonic() - started < 10  # linear: ~0.5 s; quadratic: minutes


@pytest.mark.parametrize("stream", [False, True])
def test_length_cut_tool_call_is_handed_back_as_is(openai_server, stream):
    openai_server.push(Turn(tool_calls=[("write_file", '{"path": "a.py", "content": "def f(')], finish_reason="length"))
    reply = make(openai_server, stream=stream).complete(HI, [WRITE])
    assert reply.finish_reason == "length"
    assert reply.message.tool_calls[0].arguments == '{"path": "a.py", "content": "def f('


# -- the output cap ----------------------------------------------------------------------
def test_cap_is_sent_as_max_tokens_to_local_servers(openai_server):
    openai_server.push(Turn(text="ok"), Turn(text="ok"))
    make(openai_server, max_output_tokens=512).complete(HI, [])
    make(openai_server, max_output_tokens=None).complete(HI, [])
    first, second = (r.body for r in openai_server.chat_requests)
    assert first["max_tokens"] == 512 and "max_completion_tokens" not in first
    assert "max_tokens" not in second and "max_completion_tokens" not in second


def test_field_guess():
    assert field_for("gpt-4.1", "https://api.openai.com/v1") == "max_completion_tokens"
    assert field_for("o3-mini", "http://127.0.0.1:8000/v1") == "max_completion_tokens"
    assert field_for("openai/gpt-5-mini", "https://openrouter.ai/api/v1") == "max_completion_tokens"
    assert field_for("qwen2.5-coder", "http://localhost:11434/v1") == "max_tokens"
    assert field_for("gemma-3-270m", "http://127.0.0.1:8080/v1") == "max_tokens"


def test_refused_max_tokens_switches_field_once_for_the_client_life(openai_server):
    refusal = error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                         "Use 'max_completion_tokens' instead.", code="unsupported_parameter")
    openai_server.push(refusal, Turn(text="one"), Turn(text="two"))
    model = make(openai_server, "house-reasoner")
    assert model.complete(HI, []).message.content == "one"
    assert model.complete(HI, []).message.content == "two"
    bodies = [r.body for r in openai_server.chat_requests]
    assert "max_tokens" in bodies[0]
    assert bodies[1]["max_completion_tokens"] == 4096 and "max_tokens" not in bodies[1]
    assert bodies[2]["max_completion_tokens"] == 4096  # remembered: no second refusal
    assert model.retries == 0


def test_old_server_refusing_max_completion_tokens_gets_max_tokens(openai_server):
    openai_server.push(error(400, "Unrecognized request argument supplied: max_completion_tokens"), Turn(text="ok"))
    model = make(openai_server, "o3-mini")
    assert model.complete(HI, []).message.content == "ok"
    first, second = (r.body for r in openai_server.chat_requests)
    assert "max_completion_tokens" in first and second["max_tokens"] == 4096


def test_cap_too_large_for_the_model_is_lowered_and_remembered(openai_server):
    openai_server.push(error(400, "max_tokens is too large: 4096. This model supports at most 1024 completion "
                                  "tokens, whereas you provided 4096.", code="invalid_value"),
                       Turn(text="one"), Turn(text="two"))
    model = make(openai_server)
    model.complete(HI, [])
    model.complete(HI, [])
    assert [r.body["max_tokens"] for r in openai_server.chat_requests] == [4096, 1024, 1024]


def test_vllm_cap_beyond_the_context_is_lowered_for_this_call_not_a_context_error(openai_server):
    vllm = error(400, "This model's maximum context length is 8192 tokens. However, you requested 9096 tokens "
                      "(5000 in the messages, 4096 in the completion). Please reduce the length of the messages "
                      "or completion.", type_="BadRequestError")
    openai_server.push(vllm, Turn(text="ok"), Turn(text="next"))
    model = make(openai_server)
    assert model.complete(HI, []).message.content == "ok"
    model.complete(HI, [])
    assert [r.body["max_tokens"] for r in openai_server.chat_requests] == [4096, 3192, 4096]


def test_prompt_alone_too_long_is_still_a_context_error(openai_server):
    openai_server.push(error(400, "This model's maximum context length is 8192 tokens. However, you requested "
                                  "12196 tokens (8100 in the messages, 4096 in the completion)."))
    with pytest.raises(ContextLengthError):
        make(openai_server).complete(HI, [])
    assert len(openai_server.chat_requests) == 1


def test_cap_words():
    assert field_refused("Unsupported parameter: 'max_tokens' is not supported with this model.", "max_tokens")
    assert not field_refused("max_tokens is too large: 9000. supports at most 4096 completion tokens", "max_tokens")
    assert not field_refused("tools[0].function.name: invalid", "max_tokens")
    assert smaller_cap("'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum context "
                       "length is 4096 tokens and your request has 1000 input tokens (4096 > 4096 - 1000).",
                       "max_tokens", 4096) == (3096, False)
    assert smaller_cap("This model's maximum context length is 8192 tokens. However, your messages resulted in "
                       "9000 tokens.", "max_tokens", 4096) is None
