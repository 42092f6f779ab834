"""What a model call costs: a price table in USD per million tokens.

Each entry is {input, output, cached}: `input` for uncached prompt tokens, `cached`
for prompt tokens the provider served from its prompt cache (defaults to `input`),
`output` for completion tokens. The built-in table holds list prices of a few
well-known models at the time of writing; `prices` in the settings overrides or
extends it (`[prices."my-model"] input = 0.2 ...`). A model found in neither has an
unknown cost: the call costs 0 and the usage says so (`cost_unknown`).

Lookup is forgiving about the spellings endpoints use: an exact name first, then
without a `provider/` prefix (OpenRouter's `openai/gpt-4.1`), then the longest table
key the name starts with at a `-` boundary (`gpt-4o-2024-08-06` → `gpt-4o`).
"""

from __future__ import annotations

from typing import Mapping

Price = Mapping[str, float]

BUILTIN_PRICES: dict[str, dict[str, float]] = {
    "gpt-5": {"input": 1.25, "cached": 0.125, "output": 10.0},
    "gpt-5-mini": {"input": 0.25, "cached": 0.025, "output": 2.0},
    "gpt-5-nano": {"input": 0.05, "cached": 0.005, "output": 0.40},
    "gpt-4.1": {"input": 2.0, "cached": 0.50, "output": 8.0},
    "gpt-4.1-mini": {"input": 0.40, "cached": 0.10, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "cached": 0.025, "output": 0.40},
    "gpt-4o": {"input": 2.50, "cached": 1.25, "output": 10.0},
    "gpt-4o-mini": {"input": 0.15, "cached": 0.075, "output": 0.60},
    "o3": {"input": 2.0, "cached": 0.50, "output": 8.0},
    "o3-mini": {"input": 1.10, "cached": 0.55, "output": 4.40},
    "o4-mini": {"input": 1.10, "cached": 0.275, "output": 4.40},
    "claude-sonnet-4": {"input": 3.0, "cached": 0.30, "output": 15.0},
    "claude-opus-4": {"input": 15.0, "cached": 1.50, "output": 75.0},
    "claude-3.5-haiku": {"input": 0.80, "cached": 0.08, "output": 4.0},
}

PRICE_KEYS = ("input", "output", "cached")


def find_price(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price entry for `model`, or None when its cost is unknown."""
    table: dict[str, Price] = {**BUILTIN_PRICES, **(overrides or {})}
    for name in _spellings(model):
        if name in table:
            return table[name]
    for name in _spellings(model):
        best = max((key for key in table if name.startswith(key + "-")), key=len, default=None)
        if best is not None:
            return table[best]
    return None


def _spellings(model: str) -> list[str]:
    names = [model]
    if "/" in model:
        names.append(model.rsplit("/", 1)[1])
    return names


def cost_of(price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> float:
    """USD for one call. Cached tokens are part of prompt_tokens, billed at the cached rate."""
    cached = max(0, min(cached_tokens, prompt_tokens))
    uncached = prompt_tokens - cached
    input_rate = float(price.get("input", 0.0))
    cached_rate = float(price.get("cached", input_rate))
    output_rate = float(price.get("output", 0.0))
    return (uncached * input_rate + cached * cached_rate + completion_tokens * output_rate) / 1_000_000


def check_prices(prices: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Problems with a user price table (unknown keys, negative values), for clear errors."""
    problems = []
    for model, entry in prices.items():
        for key, value in entry.items():
            if key not in PRICE_KEYS:
                problems.append(f"prices.{model!s}: unknown key {key!r} (use {', '.join(PRICE_KEYS)})")
            elif value < 0:
                problems.append(f"prices.{model!s}.{key}: must not be negative")
    return problems
