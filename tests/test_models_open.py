"""open_model / check_model from layered settings, and the price table."""

from __future__ import annotations

import pytest
from openai_server import OpenAIServer, Turn, openai_server  # noqa: F401

from codeagent.config import Settings, load_settings
from codeagent.errors import ConfigError, ModelUnavailableError
from codeagent.models import check_model, open_model
from codeagent.models.base import Message
from codeagent.models.openai_compat import PLACEHOLDER_KEY, OpenAIModel
from codeagent.models.pricing import BUILTIN_PRICES, cost_of, find_price
from codeagent.models.scripted import ScriptedModel


def test_no_model_says_how_to_configure_one():
    with pytest.raises(ModelUnavailableError) as info:
        open_model(Settings())
    text = str(info.value)
    assert info.value.exit_code == 3 and "no model configured" in text
    for needle in ("--model", "CODEAGENT_MODEL", ".codeagent.toml", "[tool.codeagent]", "OPENAI_API_KEY",
                   "OPENAI_BASE_URL", "11434", "openrouter.ai", "codeagent demo"):
        assert needle in text, needle


def test_openai_without_key_is_unavailable():
    with pytest.raises(ModelUnavailableError, match="no API key") as info:
        open_model(Settings(model="gpt-4.1"))
    assert "OPENAI_API_KEY" in str(info.value)


def test_bad_price_table_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown key 'prompt'"):
        open_model(Settings(model="m", base_url="http://127.0.0.1:9/v1", prices={"m": {"prompt": 1.0}}))
    with pytest.raises(ConfigError, match="negative"):
        open_model(Settings(model="m", base_url="http://127.0.0.1:9/v1", prices={"m": {"input": -1.0}}))


def test_open_model_from_environment_talks_to_a_local_endpoint_without_key(openai_server, tmp_path):
    env = {"CODEAGENT_MODEL": "qwen2.5-coder", "OPENAI_BASE_URL": openai_server.base_url,
           "CODEAGENT_REQUEST_TIMEOUT": "7", "CODEAGENT_MAX_RETRIES": "2", "CODEAGENT_STREAM": "false"}
    settings = load_settings(tmp_path, environ=env).settings
    model = open_model(settings)
    assert isinstance(model, OpenAIModel)
    assert (model.name, model.timeout, model.max_retries, model.stream) == ("qwen2.5-coder", 7.0, 2, False)
    check_model(model)
    openai_server.push(Turn(text="hello"))
    assert model.complete([Message("user", "hi")], []).message.content == "hello"
    sent = openai_server.chat_requests[0]
    assert sent.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
    assert sent.body["model"] == "qwen2.5-coder" and not sent.body.get("stream")


def test_repo_config_prices_reach_the_model(openai_server, tmp_path):
    # endpoint, model and prices come from a repository's config only once the user trusts it
    from codeagent.config import user_config_dir

    user_config_dir().mkdir(parents=True, exist_ok=True)
    (user_config_dir() / "config.toml").write_text(f'trusted_repos = ["{tmp_path}"]\n')
    (tmp_path / ".codeagent.toml").write_text(
        f'model = "house-model"\nbase_url = "{openai_server.base_url}"\n'
        '[prices."house-model"]\ninput = 1.0\noutput = 4.0\n'
    )
    model = open_model(load_settings(tmp_path, environ={}).settings)
    openai_server.push(Turn(text="ok", prompt_tokens=1_000_000, completion_tokens=500_000))
    usage = model.complete([Message("user", "hi")], []).usage
    assert usage.cost == pytest.approx(3.0) and not usage.cost_unknown


def test_check_model_on_unreachable_endpoint_and_on_a_scripted_model():
    with OpenAIServer() as server:
        url = server.base_url
    model = open_model(Settings(model="m", base_url=url, request_timeout=2))
    with pytest.raises(ModelUnavailableError, match="cannot reach"):
        check_model(model)
    check_model(ScriptedModel([]))  # nothing to reach


@pytest.mark.parametrize("name,expected", [
    ("gpt-4.1", "gpt-4.1"),
    ("gpt-4.1-mini", "gpt-4.1-mini"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ("anthropic/claude-sonnet-4", "claude-sonnet-4"),
    ("o3-mini", "o3-mini"),
])
def test_price_lookup_spellings(name, expected):
    assert find_price(name) is BUILTIN_PRICES[expected]


def test_price_lookup_misses_and_overrides():
    assert find_price("qwen2.5-coder") is None
    assert find_price("o3x") is None  # a prefix only counts at a '-' boundary
    own = {"input": 9.0, "output": 9.0}
    assert find_price("gpt-4.1", {"gpt-4.1": own}) is own


def test_cost_arithmetic():
    price = {"input": 2.0, "output": 8.0, "cached": 0.5}
    assert cost_of(price, 1_000_000, 0, 0) == pytest.approx(2.0)
    assert cost_of(price, 1_000_000, 0, 1_000_000) == pytest.approx(0.5)
    assert cost_of(price, 0, 1_000_000, 0) == pytest.approx(8.0)
    assert cost_of({"input": 2.0, "output": 8.0}, 1_000_000, 0, 500_000) == pytest.approx(2.0)  # no cached rate
    assert cost_of(price, 10, 0, 99) == pytest.approx(10 * 0.5 / 1e6)  # cached never exceeds prompt


def test_model_survives_pickling_and_close(openai_server):
    import pickle

    model = open_model(Settings(model="m", base_url=openai_server.base_url, api_key="sk-pickle-1234567890"))
    copy = pickle.loads(pickle.dumps(model))
    openai_server.push(Turn(text="one"), Turn(text="two"))
    assert copy.complete([Message("user", "hi")], []).message.content == "one"
    copy.close()
    assert copy.complete([Message("user", "hi")], []).message.content == "two"
    assert openai_server.chat_requests[1].headers["authorization"] == "Bearer sk-pickle-1234567890"


def test_credentials_in_the_base_url_are_not_shown():
    with OpenAIServer() as server:
        port = server.port
    model = OpenAIModel("m", base_url=f"http://alice:hunter2pass@127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(ModelUnavailableError) as info:
        model.complete([Message("user", "hi")], [])
    assert f"http://127.0.0.1:{port}/v1" in str(info.value)
    assert "hunter2pass" not in str(info.value) and "hunter2pass" not in repr(model)


def test_open_model_reports_retries(openai_server):
    from openai_server import error

    heard = []
    model = open_model(Settings(model="m", base_url=openai_server.base_url),
                       on_retry=lambda n, delay, why: heard.append((n, why)))
    model.backoff_base = 0.001
    openai_server.push(error(502, "bad gateway"), Turn(text="ok"))
    assert model.complete([Message("user", "hi")], []).message.content == "ok"
    assert heard == [(1, f"model endpoint {openai_server.base_url} (HTTP 502): bad gateway")]
