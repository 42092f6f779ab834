"""Imported once by the local engine's forkserver, so every attempt forked from it
starts with the run machinery imported and the token encoder loaded (a fork copies
them for free; without this each attempt pays about a second of imports).

Nothing here may fail: a broken component shows up in the attempt's own record."""

from __future__ import annotations

try:
    import codeagent.run_session  # noqa: F401
    from codeagent.context.tokens import count_tokens

    count_tokens("warm up the encoder")
except Exception:  # noqa: BLE001 - the attempt will report the real error
    pass
