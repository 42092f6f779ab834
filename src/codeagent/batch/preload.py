"""Imported once by the local engine's forkserver, so every attempt forked from it
starts warm: the run machinery, the model SDK and its HTTP transport imported, the
token encoder loaded, the prompt templates compiled, and bubblewrap and the cgroup
hierarchy probed (a fork copies all of it for free; without this each attempt pays
about a second of CPU, the openai SDK and its transport most of it).

Last, everything loaded is moved out of the garbage collector's sight (`gc.freeze`):
otherwise the first full collection in an attempt walks the whole inherited heap
(about 200 MB), copying every page it touches, which costs each attempt about 90 ms of
CPU.

Nothing here may fail: a broken component shows up in the attempt's own record."""

from __future__ import annotations

import gc

try:
    import codeagent.run_session  # noqa: F401
    from codeagent.context.tokens import count_tokens
    from codeagent.prompting import compile_shipped

    count_tokens("warm up the encoder")
    compile_shipped()
except Exception:  # noqa: BLE001 - the attempt will report the real error
    pass

try:
    import openai

    import codeagent.models.openai_compat  # noqa: F401

    openai.OpenAI(api_key="preload", base_url="http://127.0.0.1:9/v1").close()  # imports the transport
except Exception:  # noqa: BLE001 - scripted-only installs may lack it
    pass

try:
    import codeagent.sandbox.bwrap  # noqa: F401
    from codeagent.sandbox import cgroups
    from codeagent.sandbox.probe import bwrap_status

    bwrap_status()
    cgroups.available()
except Exception:  # noqa: BLE001
    pass

gc.collect()
gc.freeze()
