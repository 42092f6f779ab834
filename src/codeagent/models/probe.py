"""What an OpenAI-compatible server says it is, read from its `GET /models` reply and,
for llama.cpp, its `GET /props` (at the server root, beside `/v1`).

    llama.cpp   owned_by "llamacpp" or a `meta` object per model (n_ctx_train, ...);
                /props: default_generation_settings.n_ctx (the context one request gets),
                model_path, build_info
    vLLM        owned_by "vllm"; max_model_len per model
    Ollama      owned_by "library" / "ollama", or port 11434 (context not reported)
    OpenAI      api.openai.com, or owned_by "openai" / "system" / "openai-internal"

Everything is optional: a server that says less gives a ServerInfo with less in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit


@dataclass
class ServerInfo:
    kind: str  # "llama.cpp" | "vLLM" | "Ollama" | "OpenAI" | "OpenAI-compatible"
    model_ids: list[str] = field(default_factory=list)
    context_window: int | None = None  # tokens one request may use, when the server says
    context_source: str = ""  # where context_window came from, e.g. "/props n_ctx"
    details: list[str] = field(default_factory=list)

    def describe(self) -> str:
        ids = ", ".join(self.model_ids[:5]) + (f" (+{len(self.model_ids) - 5})" if len(self.model_ids) > 5 else "")
        parts = [self.kind, f"models: {ids or '(none listed)'}"]
        if self.context_window:
            parts.append(f"context window {self.context_window:,} tokens ({self.context_source})")
        else:
            parts.append("context window not reported")
        return "; ".join(parts + self.details)


def model_entries(models: Any) -> list[Mapping[str, Any]]:
    data = models.get("data") if isinstance(models, Mapping) else None
    return [m for m in data if isinstance(m, Mapping)] if isinstance(data, list) else []


def kind_of(base_url: str, entries: list[Mapping[str, Any]]) -> str:
    owners = {str(m.get("owned_by") or "").lower() for m in entries}
    url = urlsplit(base_url)
    if "llamacpp" in owners or any(isinstance(m.get("meta"), Mapping) for m in entries):
        return "llama.cpp"
    if "vllm" in owners or any("max_model_len" in m for m in entries):
        return "vLLM"
    if owners & {"library", "ollama"} or url.port == 11434:
        return "Ollama"
    if url.hostname == "api.openai.com" or owners & {"openai", "system", "openai-internal"}:
        return "OpenAI"
    return "OpenAI-compatible"


def identify(base_url: str, models: Any, props: Any = None) -> ServerInfo:
    """ServerInfo from the /models reply and (llama.cpp) the /props reply."""
    entries = model_entries(models)
    info = ServerInfo(kind_of(base_url, entries), [str(m.get("id")) for m in entries if m.get("id")])
    for entry in entries[:1]:
        meta = entry.get("meta")
        if isinstance(meta, Mapping):
            train = _int(meta.get("n_ctx_train"))
            if train:
                info.details.append(f"trained context {train:,}")
                info.context_window, info.context_source = train, "/models meta.n_ctx_train"
            params = _int(meta.get("n_params"))
            if params:
                info.details.append(f"{params / 1e9:.2g}B parameters")
        length = _int(entry.get("max_model_len"))
        if length:
            info.context_window, info.context_source = length, "/models max_model_len"
    if isinstance(props, Mapping):
        settings = props.get("default_generation_settings")
        n_ctx = _int(settings.get("n_ctx")) if isinstance(settings, Mapping) else None
        n_ctx = n_ctx or _int(props.get("n_ctx"))
        if n_ctx:
            info.context_window, info.context_source = n_ctx, "/props n_ctx"
        if props.get("model_path"):
            info.details.append(f"model file {props['model_path']}")
        if props.get("build_info"):
            info.details.append(f"build {props['build_info']}")
    if info.kind == "Ollama":
        info.details.append("Ollama cuts prompts longer than its num_ctx (set OLLAMA_CONTEXT_LENGTH)")
    return info


def server_root(base_url: str) -> str:
    """The server's root URL: the base URL without a trailing /v1."""
    root = base_url.rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
