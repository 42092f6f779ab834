"""The model client's time limits and long replies, against the local OpenAI-compatible
test server (tests/openai_server.py):

    python benchmarks/model_limits.py [--runs 5]

Prints, as medians over the runs:

    cancel latency     how long after the deadline DeadlineReached is raised, while
                       waiting for the headers, waiting for the first token, streaming
    stall detection    how long after the idle timeout a stalled stream is cut (and the
                       retry answered)
    long replies       wall time to receive a ~200 KB tool call streamed in 16-, 64- and
                       512-character pieces, and the CPU time the client spent on it
    argument folding   CPU time to fold 400,000 one-character argument deltas
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openai_server import OpenAIServer, Turn  # noqa: E402

from codeagent.errors import DeadlineReached  # noqa: E402
from codeagent.models.base import Message, ToolSpec  # noqa: E402
from codeagent.models.openai_compat import OpenAIModel  # noqa: E402
from codeagent.models.wire import call_arguments, merge_call_delta  # noqa: E402

HI = [Message("user", "hi")]
WRITE = ToolSpec("write_file", "Write.", {"type": "object", "properties": {}})


def model(server: OpenAIServer, **kw) -> OpenAIModel:
    return OpenAIModel("m", base_url=server.base_url, api_key="k", backoff_base=0.001, **kw)


def cancel_latency(turn: Turn, after: float = 0.5) -> float:
    with OpenAIServer() as server:  # one server per call: a cut request leaves nothing behind
        server.push(turn)
        deadline = time.monotonic() + after
        try:
            model(server).complete(HI, [], deadline=deadline)
        except DeadlineReached:
            return time.monotonic() - deadline
    raise SystemExit("the call was not cut")


def stall_detection(idle: float = 0.3) -> float:
    with OpenAIServer() as server:
        server.push(Turn(text="thinking", stall_after=2), Turn(text="ok"))
        started = time.monotonic()
        model(server, idle_timeout=idle).complete(HI, [])
        return time.monotonic() - started - idle


def long_reply(chunk: int) -> tuple[float, float]:
    content = "".join(f"line {i}: " + "x" * 60 + "\n" for i in range(3000))
    with OpenAIServer() as server:
        server.push(Turn(tool_calls=[("write_file", {"path": "big.txt", "content": content})], chunk_size=chunk))
        wall, cpu = time.monotonic(), time.process_time()
        reply = model(server).complete(HI, [WRITE])
        assert len(reply.message.tool_calls[0].arguments) > 200_000
        return time.monotonic() - wall, time.process_time() - cpu


def folding() -> float:
    slots: dict = {}
    cpu = time.process_time()
    for _ in range(400_000):
        merge_call_delta(slots, {"index": 0, "function": {"arguments": "x"}})
    call_arguments(slots[0])
    return time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    logging.getLogger("codeagent.models").setLevel(logging.ERROR)  # the retries are expected
    med = statistics.median
    print(f"cancel latency after the deadline (median of {runs}):")
    for label, turn in (("waiting for headers", Turn(text="late", delay=30)),
                        ("waiting for first token", Turn(text="late", first_delay=30)),
                        ("streaming", Turn(text="x" * 2000, chunk_size=1, chunk_delay=0.01))):
        print(f"  {label:26s} {med(cancel_latency(turn) for _ in range(runs)) * 1000:7.0f} ms")
    stall = med(stall_detection() for _ in range(runs))
    print(f"stall cut + retry answered, after the idle timeout: {stall * 1000:.0f} ms")
    for chunk in (16, 64, 512):
        results = [long_reply(chunk) for _ in range(runs)]
        print(f"200 KB tool call in {chunk:3d}-char pieces: wall {med(r[0] for r in results):.2f} s, "
              f"CPU (client and server threads) {med(r[1] for r in results):.2f} s")
    print(f"folding 400,000 one-char deltas: {med(folding() for _ in range(runs)):.2f} s CPU")


if __name__ == "__main__":
    main()
