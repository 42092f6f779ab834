"""Imported once by the local engine's forkserver, so every attempt forked from it
starts with the run machinery and the model SDK imported and the token encoder
loaded (a fork copies them for free; without this each attempt pays about a second
of CPU for imports, the openai SDK alone about half of it).

Nothing here may fail: a broken component shows up in the attempt's own record."""

from __future__ import annotations

try:
    import codeagent.run_session  # noqa: F401
    from codeagent.context.tokens import count_tokens

    count_tokens("warm up the encoder")
except Exception:  # noqa: BLE001 - the attempt will report the real error
    pass

try:
    import openai  # noqa: F401

    import codeagent.models.openai_compat  # noqa: F401
except Exception:  # noqa: BLE001 - scripted-only installs may lack it
    pass
