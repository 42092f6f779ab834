"""ScriptedModel scripts of the smoke suite, by name: `SCRIPTS[name](attempt) -> steps`.

Each script is a plan turn, edits, and `finish`; the task's `max_steps` equals the
script's length, so a script that does not fix everything ends with budget:steps
(never by running out of turns). Flaky scripts fix everything on odd attempts and make
one wrong edit on even ones, which is what gives pass@k and pass^k something to show.
"""

from __future__ import annotations

from typing import Any, Callable

from codeagent.batch.suites.smoke.bugs import BUGS
from codeagent.models.scripted import tool

Script = Callable[[int], list[Any]]


def _plan(n: int) -> dict[str, Any]:
    return tool("update_plan", steps=[
        {"what": f"Fix {name}", "files": ["calc.py"], "done_when": f"test_{name} passes"} for name, *_ in BUGS[:n]])


def _steps(n: int, *, fixed: int | None = None, wrong_last: bool = False) -> list[Any]:
    fixed = n if fixed is None else fixed
    steps = [_plan(n)]
    for i, (name, buggy, right, wrong, _) in enumerate(BUGS[:fixed]):
        new = wrong if wrong_last and i == fixed - 1 else right
        steps.append(tool("edit_file", text=f"Fix {name}.", path="calc.py", old=buggy, new=new))
    steps.append(tool("finish", summary=f"fixed {fixed} of {n} functions"))
    return steps


def fix(n: int) -> Script:
    return lambda attempt: _steps(n)


def wrong(n: int) -> Script:
    return lambda attempt: _steps(n, wrong_last=True)


def flaky(n: int) -> Script:
    return lambda attempt: _steps(n, wrong_last=attempt % 2 == 0)


def partial(n: int, fixed: int) -> Script:
    return lambda attempt: _steps(n, fixed=fixed)


SCRIPTS: dict[str, Script] = {
    "fix1": fix(1),
    "wrong1": wrong(1),
    "fix2": fix(2),
    "flaky2": flaky(2),
    "fix4": fix(4),
    "flaky4": flaky(4),
    "fix8": fix(8),
    "partial8": partial(8, 6),
}
