"""Reusable pieces of a scripted model's behaviour, composed into task policies with
`yield from`. Each piece reads what the tools answered and acts on it: paths come
from `search`, the `old` text of every edit is copied from `read_file` output, and the
next step depends on the test report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generator

from realtasks_kit.agent import Call, Confused, FileView, Move, Say, call, edit_refused, first_hit, tests_ok
from realtasks_kit.agent import regressions

Steps = Generator[Move, str, object]


@dataclass
class Fix:
    """What the model knows about one function it has to write: its real body, and
    optionally a first attempt that is wrong (`right` replaced by `wrong` in the body)."""

    name: str
    body: str
    right: str = ""
    wrong: str = ""

    def first_attempt(self) -> str:
        if not self.wrong:
            return self.body
        if self.body.count(self.right) != 1:
            raise ValueError(f"{self.right!r} is not once in the body of {self.name}")
        return self.body.replace(self.right, self.wrong)


def find_function(name: str, *, stop: str = "raise NotImplementedError", limit: int = 45) -> Steps:
    """search for the definition, read on until a line matching `stop`; returns
    (path, view, def line)."""
    obs = yield call("search", pattern=rf"def {name}\(")
    path, line = first_hit(obs)
    obs = yield call("read_file", path=path, offset=max(1, line - 1), limit=limit)
    view = FileView.parse(obs)
    while not any(re.search(stop, t) for n, t in view.lines.items() if n > line):
        if max(view.lines) - line > 200:
            raise Confused(f"no {stop!r} under def {name}")
        obs = yield call("read_file", path=path, offset=max(view.lines) + 1, limit=limit)
        view = view.more(obs)
    return path, view, line


def fill_stub(path: str, view: FileView, def_line: int, body: str) -> Steps:
    """Replace the stub under `def_line` with `body`: first with a small `old` (the line
    before the stub and the stub); when that is refused (ambiguous), from the def line."""
    stub = view.find(r"raise NotImplementedError", def_line)
    obs = yield call("edit_file", path=path, old=view.text(stub - 1, stub), new=view.text(stub - 1, stub - 1) + body)
    if edit_refused(obs):
        obs = yield call("edit_file", path=path, old=view.text(def_line, stub),
                         new=view.text(def_line, stub - 1) + body)
        if edit_refused(obs):
            raise Confused(f"my edit of {path} was refused twice: {obs[:300]}")
    return obs


def replace_fragment(path: str, fragment: str, replacement: str, *, why: str = "") -> Steps:
    """Find `fragment` (by its first line) with search, read the lines around it, and
    edit the whole lines that hold it (copied from the read) with `fragment` replaced."""
    first = fragment.strip().splitlines()[0].strip()
    obs = yield call("search", pattern=re.escape(first), path=path, text=why or None)
    hits = _hits(obs)
    if not hits:
        raise Confused(f"cannot find {first!r} in {path}")
    count = fragment.strip("\n").count("\n") + 1
    obs = yield call("read_file", path=path, offset=max(1, hits[0] - 2), limit=count + 4)
    view = FileView.parse(obs)
    for start in sorted(view.lines):
        for end in range(start, start + count + 1):
            if end in view.lines and fragment in view.text(start, end):
                old = view.text(start, end)
                obs = yield call("edit_file", path=path, old=old, new=old.replace(fragment, replacement, 1))
                if edit_refused(obs):
                    raise Confused(f"my repair of {path} was refused: {obs[:300]}")
                return obs
    raise Confused(f"the lines I read do not hold {fragment!r}")


def _hits(obs: str) -> list[int]:
    return [int(m) for m in re.findall(r"^[^\s:]+:(\d+):", obs, re.M)]


def implement(fix: Fix, selection: list[str]) -> Steps:
    """Write one function: find it, write a first attempt, test the selection, and
    repair what the tests show (the wrong part, copied back from the file)."""
    path, view, line = yield from find_function(fix.name)
    yield from fill_stub(path, view, line, fix.first_attempt())
    obs = yield call("run_tests", selection=selection)
    if not tests_ok(obs):
        if not fix.wrong:
            raise Confused(f"{fix.name} still fails and I do not know why: {obs[:400]}")
        yield from replace_fragment(path, fix.wrong, fix.right, why=f"the tests of {fix.name} fail; check my code")
        obs = yield call("run_tests", selection=selection)
        if not tests_ok(obs):
            raise Confused(f"{fix.name} still fails after my repair: {obs[:400]}")
    return path


def tests_named(name: str, test_file: str) -> Steps:
    """The ids of the test functions in `test_file` named after `name` (found by search)."""
    obs = yield call("search", pattern=rf"def test_{name}", path=test_file)
    names = sorted({m for m in re.findall(r"def (test_\w+)\(", obs)})
    if not names:
        raise Confused(f"no tests named after {name} in {test_file}")
    return [f"{test_file}::{n}" for n in names]


def full_run_and_recover(undo: list[tuple[str, str, str]] = ()) -> Steps:
    """Run the whole suite. On regressions, undo the listed side edits (path, what it
    is now, what it was) one by one until the regressions are gone."""
    obs = yield call("run_tests")
    pending = list(undo)
    while regressions(obs) and pending:
        path, now, before = pending.pop(0)
        yield from replace_fragment(path, now, before, why=f"regressions {regressions(obs)[:3]}: undo my change")
        obs = yield call("run_tests")
    if not tests_ok(obs):
        raise Confused(f"the suite still does not pass: {obs[:500]}")
    return obs


def finish(summary: str) -> Steps:
    obs = yield call("finish", summary=summary)
    if "finish accepted" not in obs and "finished" not in obs:
        raise Confused(f"finish was refused: {obs[:400]}")
    return obs


def say(text: str) -> Steps:
    """A text-only reply (a model thinking aloud without acting)."""
    obs = yield Say(text)
    return obs


def raw(name: str, arguments: str) -> Steps:
    """A call with malformed arguments, as real models sometimes send."""
    obs = yield Call(name, arguments)
    return obs
