"""The model layer's front: open the configured model, check it answers.

    open_model(settings) -> Model     the OpenAI-compatible client, configured
    check_model(model)  -> None       one cheap request; raises ModelUnavailableError
                                      (an OpenAIModel learns what the server is, and its
                                      context window unless the user set one)

The provider SDK is imported only when a model is opened, so importing codeagent
stays fast and quiet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeagent.errors import ConfigError, ModelUnavailableError
from codeagent.models.base import DeltaCallback, Message, Model, ModelReply, ToolCall, ToolSpec, Usage

if TYPE_CHECKING:
    from codeagent.config import Settings
    from codeagent.models.openai_compat import RetryCallback

__all__ = [
    "DeltaCallback", "Message", "Model", "ModelReply", "ToolCall", "ToolSpec", "Usage",
    "HOW_TO_CONFIGURE", "open_model", "check_model",
]

HOW_TO_CONFIGURE = """\
name one with --model NAME, CODEAGENT_MODEL=NAME, or model = "NAME" in .codeagent.toml
  (or [tool.codeagent] in pyproject.toml, or the user config.toml). Endpoints:
    OpenAI:      export OPENAI_API_KEY=sk-...                         --model gpt-4.1
    Ollama:      export OPENAI_BASE_URL=http://localhost:11434/v1     --model qwen2.5-coder
    vLLM:        export OPENAI_BASE_URL=http://localhost:8000/v1      --model <served model name>
    llama.cpp:   export OPENAI_BASE_URL=http://localhost:8080/v1      --model <any name>
    OpenRouter:  export OPENAI_BASE_URL=https://openrouter.ai/api/v1 OPENAI_API_KEY=sk-or-...
                 --model anthropic/claude-sonnet-4
  (--base-url sets the endpoint for one run.) No model at hand? `codeagent demo` runs offline."""


def open_model(settings: "Settings", *, on_retry: "RetryCallback | None" = None) -> Model:
    """The model the settings name, ready to call. Raises ModelUnavailableError when
    none is configured (or OpenAI is meant but no key is set), ConfigError for a bad
    price table. `on_retry(attempt, delay_seconds, reason)` hears about each retry
    (e.g. to emit a `warning` event)."""
    from codeagent.models.openai_compat import OpenAIModel
    from codeagent.models.pricing import check_prices

    if not settings.model:
        raise ModelUnavailableError("no model configured", hint=HOW_TO_CONFIGURE)
    problems = check_prices(settings.prices)
    if problems:
        raise ConfigError(problems[0], hint="price entries take input, output and cached: USD per million tokens")
    if not settings.api_key and not settings.base_url:
        raise ModelUnavailableError(
            f"no API key for api.openai.com (model {settings.model!r})",
            hint="export OPENAI_API_KEY=..., or point OPENAI_BASE_URL / --base-url at a local "
            "endpoint (Ollama, vLLM, llama.cpp), which needs no key",
        )
    return OpenAIModel(
        settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.request_timeout,
        first_token_timeout=settings.first_token_timeout,
        idle_timeout=settings.stream_idle_timeout,
        max_output_tokens=settings.max_output_tokens or None,
        max_retries=settings.max_retries,
        stream=settings.stream,
        context_window=settings.context_window,
        learn_context_window="context_window" not in settings.model_fields_set,
        prices=settings.prices,
        on_retry=on_retry,
    )


def check_model(model: Model) -> None:
    """Fail fast (ModelUnavailableError) when the model's endpoint is unreachable or
    refuses the key. Models without an endpoint (ScriptedModel) always pass."""
    check = getattr(model, "check", None)
    if callable(check):
        check()
