"""A scripted model that behaves like a real one, served over the OpenAI-compatible
protocol by tests/openai_server.py.

A task's behaviour is a *policy*: a generator that yields moves (tool calls, text) and
is sent back what the loop answered (the tool results and notes that follow its last
move in the conversation). The policy reads those observations the way a model would:
it finds files through `search`, copies the `old` text of an edit from what `read_file`
showed it, and decides its next step from the test output. It never looks at the
workspace directly, so whatever it achieves goes through codeagent's tools.

    agent = ScriptedAgent(policy, plan=[...])
    with OpenAIServer(responder=agent) as server: ...

When a policy cannot make sense of an observation it raises `Confused`; the agent then
says so in plain text for the rest of the run (as a lost model would), and the failure
is recorded in `agent.error` for the benchmark to show.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Generator, Iterable

from openai_server import RecordedRequest, Turn


@dataclass
class Call:
    """One tool call; `args` as a dict, or as raw text (a malformed call)."""

    name: str
    args: dict[str, Any] | str
    text: str | None = None  # what the model says alongside


@dataclass
class Say:
    """A reply with text and no tool call."""

    text: str


Move = Call | Say | list[Call]
Policy = Generator[Move, str, None]


class Confused(Exception):
    """The policy met an observation it cannot act on."""


def call(name: str, text: str | None = None, **args: Any) -> Call:
    return Call(name, args, text)


@dataclass
class ScriptedAgent:
    policy: Policy
    plan: list[dict[str, Any]]
    moves: list[tuple[str, str]] = field(default_factory=list)  # (tool or "text", arguments)
    observations: list[str] = field(default_factory=list)
    error: str | None = None
    planner_calls: int = 0
    _started: bool = False
    _done: bool = False

    def __call__(self, request: RecordedRequest) -> Turn:
        body = request.body if isinstance(request.body, dict) else {}
        offered = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if offered == ["update_plan"]:  # the planner (or a re-plan) asks for a plan only
            self.planner_calls += 1
            return Turn(tool_calls=[("update_plan", {"steps": self.plan})])
        observation = latest_observation(body.get("messages") or [])
        self.observations.append(observation)
        move = self._next(observation)
        return self._turn(move)

    def _next(self, observation: str) -> Move:
        if self._done:
            return Say("I have nothing further to do.")
        try:
            if not self._started:
                self._started = True
                return next(self.policy)
            return self.policy.send(observation)
        except StopIteration:
            self._done = True
            return Say("I have nothing further to do.")
        except Confused as exc:
            self._done = True
            self.error = str(exc)
            return Say(f"I am not sure how to continue: {exc}")

    def _turn(self, move: Move) -> Turn:
        if isinstance(move, Say):
            self.moves.append(("text", move.text[:80]))
            return Turn(text=move.text)
        calls = move if isinstance(move, list) else [move]
        for c in calls:
            self.moves.append((c.name, c.args if isinstance(c.args, str) else json.dumps(c.args)[:200]))
        return Turn(text=calls[0].text, tool_calls=[(c.name, c.args) for c in calls])

    @property
    def tool_moves(self) -> int:
        return sum(1 for name, _ in self.moves if name != "text")


def latest_observation(messages: list[dict[str, Any]]) -> str:
    """Everything the loop said after the model's last turn: tool results and notes."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    parts = []
    for m in messages[last + 1:]:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if content:
            parts.append(str(content))
    return "\n\n".join(parts)


# -- reading observations ------------------------------------------------------------------

SEARCH_HIT = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+): ?(?P<text>.*)$", re.M)
READ_LINE = re.compile(r"^ *(?P<n>\d+)\t(?P<text>.*)$")
TEST_ID = re.compile(r"[\w./-]+\.py::[\w.:\[\]-]+|[\w]+(?:\.[\w]+)+\.test_\w+")


def search_hits(observation: str) -> list[tuple[str, int, str]]:
    return [(m["path"], int(m["line"]), m["text"]) for m in SEARCH_HIT.finditer(observation)]


def first_hit(observation: str, *, exclude: str = "test") -> tuple[str, int]:
    """The first search hit outside tests: (path, line)."""
    for path, line, _ in search_hits(observation):
        if exclude not in path:
            return path, line
    raise Confused(f"the search found no definition: {observation[:200]!r}")


@dataclass
class FileView:
    """The numbered lines a read_file call showed."""

    lines: dict[int, str]

    @classmethod
    def parse(cls, observation: str) -> "FileView":
        lines = {}
        for raw in observation.splitlines():
            m = READ_LINE.match(raw)
            if m:
                lines[int(m["n"])] = m["text"]
        if not lines:
            raise Confused(f"read_file showed no lines: {observation[:200]!r}")
        return cls(lines)

    def find(self, pattern: str, start: int = 0) -> int:
        regex = re.compile(pattern)
        for n in sorted(self.lines):
            if n >= start and regex.search(self.lines[n]):
                return n
        raise Confused(f"{pattern!r} is not in the lines I read ({min(self.lines)}-{max(self.lines)})")

    def text(self, first: int, last: int) -> str:
        """Lines first..last as the file has them (the `old` text of an edit)."""
        missing = [n for n in range(first, last + 1) if n not in self.lines]
        if missing:
            raise Confused(f"I did not read lines {missing[0]}-{missing[-1]}")
        return "".join(self.lines[n] + "\n" for n in range(first, last + 1))

    def more(self, observation: str) -> "FileView":
        return FileView({**self.lines, **FileView.parse(observation).lines})


def failures(observation: str) -> int:
    """Failed + erroring tests in the report's first line (`tests : 3 passed, 1 failed, ...`)."""
    head = re.search(r"^tests[^:]*:(.*)$", observation, re.M)
    if head is None:
        raise Confused(f"that was not a test report: {observation[:200]!r}")
    counts = dict((k, int(n)) for n, k in re.findall(r"(\d+) (failed|error|collection_errors)", head.group(1)))
    return sum(counts.values())


def tests_ok(observation: str) -> bool:
    """What a careful model checks: tests ran and none failed (a selection run may say
    NOT OK for tests outside the selection; the counts are what the model trusts)."""
    head = re.search(r"^tests[^:]*:(.*)$", observation, re.M)
    ran = bool(head and re.search(r"\d+ passed", head.group(1)))
    return ran and failures(observation) == 0 and not regressions(observation)


def regressions(observation: str) -> list[str]:
    m = re.search(r"REGRESSIONS \(passed before your change\): (.*)", observation)
    return [t.strip() for t in m.group(1).split(",")] if m else []


def mentions_failing(observation: str, name: str) -> bool:
    """Does the test output show a failing test whose id contains `name`?"""
    if failures(observation) == 0:
        return False
    return any(name in t for t in TEST_ID.findall(observation))


def edit_refused(observation: str) -> bool:
    low = observation.lower()
    return any(w in low for w in ("not applied", "refused", "no match", "not found", "matches", "nothing was changed"))


def collect(moves: Iterable[Move]) -> Policy:
    """A fixed sequence of moves as a policy (for the parts of a run that need no reading)."""
    for move in moves:
        yield move
