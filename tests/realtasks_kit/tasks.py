"""The task suite: tasks cut from real PyPI projects, each with the behaviour of the
model that attempts it. `TASKS` lists them all; `FAST` names the few the test suite runs.

Every policy is given what the model knows about the solution (the project's real code,
taken out of the project by `prepare`) and must put it back through codeagent's tools:
it finds files with `search`, copies every edit's `old` text from `read_file` output,
and decides its next step from the test report. Wrong first attempts, a regression and
its undo, malformed calls and text-only replies are part of the behaviour, as with a
real model."""

from __future__ import annotations

from pathlib import Path

from realtasks_kit.agent import Confused, FileView, call, failures, mentions_failing, regressions, tests_ok
from realtasks_kit.harness import Task
from realtasks_kit.moves import (Fix, find_function, finish, full_run_and_recover, implement, raw,
                                 replace_fragment, say, tests_named)
from realtasks_kit.project import cut_body, remove_def, replace_once

INFLECTION = "inflection/__init__.py"
ITERTOOLZ = "toolz/itertoolz.py"
CURRIED = "toolz/curried/__init__.py"
RECIPES = "more_itertools/recipes.py"
TABULATE = "tabulate/__init__.py"
INTRANGES = "idna/intranges.py"
IDNA_CORE = "idna/core.py"


def plan(*steps: tuple[str, list[str], str]) -> list[dict]:
    return [{"what": w, "files": f, "done_when": d} for w, f, d in steps]


def cut(root: Path, path: str, *names: str) -> dict[str, str]:
    return {name: cut_body(root, path, name).text for name in names}


# -- inflection ---------------------------------------------------------------------------

def _underscore(k: dict):
    yield from say("Let me find where underscore is defined and what its tests expect.")
    obs = yield call("search", pattern="underscore", path="test_inflection.py")
    if "test_underscore" not in obs:
        raise Confused("no tests for underscore")
    yield from implement(Fix("underscore", k["underscore"], r'r"([a-z\d])([A-Z])"', r'r"([a-z])([A-Z])"'),
                         ["test_inflection.py"])
    yield from full_run_and_recover()
    yield from finish("implemented underscore")


UNDERSCORE = Task(
    id="inflection-underscore", project="inflection", kind="single",
    instruction="Implement `underscore` in inflection/__init__.py so that its tests pass.",
    prepare=lambda root: cut(root, INFLECTION, "underscore"), policy=_underscore,
    plan=plan(("write underscore", [INFLECTION], "test_underscore passes")), target="test_underscore")


def _ordinal_prepare(root: Path) -> dict:
    replace_once(root, INFLECTION, "if number % 100 in (11, 12, 13):", "if number % 100 in (11, 12):")
    return {}


def _ordinal(k: dict):
    obs = yield call("run_tests")
    if not mentions_failing(obs, "test_ordinal"):
        raise Confused("I expected test_ordinal to fail")
    path, view, line = yield from find_function("ordinal", stop=r"^\s+}\.get\(")
    rd = view.find(r'3: "rd",', line)
    # first idea: 113 gets 'rd', so the table must be wrong (it is not: this breaks 3rd, 23rd, ...)
    yield call("edit_file", path=path, old=view.text(rd, rd), new=view.text(rd, rd).replace('"rd"', '"th"'),
               text="113 comes out as '113rd'; the suffix table looks wrong.")
    obs = yield call("run_tests")
    if not regressions(obs):
        raise Confused("I expected my table change to break other ordinals")
    yield from replace_fragment(path, '3: "th",', '3: "rd",', why="that broke 3rd and 23rd: undo it")
    yield from replace_fragment(path, "(11, 12):", "(11, 12, 13):", why="the teens need 'th', 113 included")
    yield from full_run_and_recover()
    yield from finish("ordinal: 11, 12 and 13 (mod 100) take 'th'")


ORDINAL = Task(
    id="inflection-ordinal-bug", project="inflection", kind="bug",
    instruction="ordinalize(113) returns '113rd' instead of '113th'. Fix the bug so the failing tests pass.",
    prepare=_ordinal_prepare, policy=_ordinal,
    plan=plan(("find and fix the ordinal suffix bug", [INFLECTION], "the ordinal tests pass")),
    target="test_ordinal")

LONG_INFLECTION = ("pluralize", "singularize", "humanize", "parameterize", "titleize")


def _inflection_long(k: dict):
    obs = yield call("list_files", path=".")
    if INFLECTION not in obs:
        raise Confused("where is the package?")
    yield from raw("read_file", '{"path": "inflection/__init__.py", "offset": 1, "lim')  # cut-off JSON
    obs = yield call("read_file", path=INFLECTION, offset="1", limit=60)  # a number sent as a string
    FileView.parse(obs)
    obs = yield call("str_replace_based_edit_tool", command="view", path=INFLECTION)  # another agent's tool
    obs = yield call("run_tests")
    if failures(obs) < len(LONG_INFLECTION):
        raise Confused("five stubs, yet so few failures?")
    fixes = {
        "pluralize": Fix("pluralize", k["pluralize"]),
        "singularize": Fix("singularize", k["singularize"], "return re.sub(rule, replacement, word)",
                           "return re.sub(rule, replacement, word).lower()"),
        "humanize": Fix("humanize", k["humanize"], "word.replace('_', ' ')", "word.replace('_', '')"),
        "parameterize": Fix("parameterize", k["parameterize"], "return string.lower()", "return string.strip()"),
        "titleize": Fix("titleize", k["titleize"]),
    }
    for name in LONG_INFLECTION:
        selection = yield from tests_named(name, "test_inflection.py")
        yield from implement(fixes[name], selection)
    yield from full_run_and_recover()
    yield from finish("implemented " + ", ".join(LONG_INFLECTION))


INFLECTION_LONG = Task(
    id="inflection-five-functions", project="inflection", kind="long",
    instruction="pluralize, singularize, humanize, parameterize and titleize in inflection/__init__.py are stubs. "
                "Implement them so the test suite passes.",
    prepare=lambda root: cut(root, INFLECTION, *LONG_INFLECTION), policy=_inflection_long,
    plan=plan(*[(f"write {n}", [INFLECTION], f"test_{n} passes") for n in LONG_INFLECTION]),
    target="test_parameterize", max_steps=70)


# -- toolz --------------------------------------------------------------------------------

def _frequencies(k: dict):
    obs = yield call("search", pattern="frequencies", path="toolz/tests")
    if "test_frequencies" not in obs:
        raise Confused("no test of frequencies")
    yield from implement(Fix("frequencies", k["frequencies"], "d[item] += 1", "d[item] = 1"),
                         ["toolz/tests/test_itertoolz.py"])
    yield from full_run_and_recover()
    yield from finish("implemented frequencies")


FREQUENCIES = Task(
    id="toolz-frequencies", project="toolz", kind="single",
    instruction="Implement `frequencies` in toolz/itertoolz.py so that its tests pass.",
    prepare=lambda root: cut(root, ITERTOOLZ, "frequencies"), policy=_frequencies,
    plan=plan(("write frequencies", [ITERTOOLZ], "test_frequencies passes")), target="test_frequencies")


def _interpose_prepare(root: Path) -> dict:
    source = remove_def(root, ITERTOOLZ, "interpose")
    replace_once(root, ITERTOOLZ, "'cons', 'interpose', 'frequencies'", "'cons', 'frequencies'")
    replace_once(root, CURRIED, "interpose = toolz.curry(toolz.interpose)\n", "")
    return {"source": source}


def _interpose(k: dict):
    obs = yield call("run_tests")
    if failures(obs) == 0:
        raise Confused("nothing fails?")
    obs = yield call("search", pattern=r"interpose\(", path="toolz/tests")
    if "test_itertoolz.py" not in obs:
        raise Confused("no test of interpose")
    # the function itself, after cons in itertoolz.py
    path, view, line = yield from find_function("cons", stop=r"return itertools.chain")
    end = view.find(r"return itertools.chain", line)
    old = view.text(line, end)
    yield call("edit_file", path=path, old=old, new=old + "\n\n" + k["source"].rstrip("\n") + "\n")
    # exported in __all__ (the first try drops 'cons' by mistake)
    obs = yield call("search", pattern=r"'mapcat', 'cons'", path=path)
    n = int(obs.split(":")[1])
    obs = yield call("read_file", path=path, offset=n, limit=1)
    line_text = FileView.parse(obs).text(n, n)
    yield call("edit_file", path=path, old=line_text, new=line_text.replace("'cons', ", "'interpose', "))
    # curried, next to its alphabetical neighbour
    obs = yield call("read_file", path=CURRIED, offset=1, limit=120)
    cview = FileView.parse(obs)
    before = cview.find(r"^groupby = toolz.curry")
    yield call("edit_file", path=CURRIED, old=cview.text(before, before),
               new=cview.text(before, before) + "interpose = toolz.curry(toolz.interpose)\n")
    yield from full_run_and_recover(undo=[(path, "'mapcat', 'interpose',", "'mapcat', 'cons', 'interpose',")])
    yield from finish("added interpose to itertoolz (exported) and to toolz.curried")


INTERPOSE = Task(
    id="toolz-interpose-multifile", project="toolz", kind="multi",
    instruction="`interpose(el, seq)` went missing from toolz: add it back to toolz/itertoolz.py (exported in "
                "__all__) and curry it in toolz/curried/__init__.py, so the test suite passes again.",
    prepare=_interpose_prepare, policy=_interpose,
    plan=plan(("write interpose", [ITERTOOLZ], "test_interpose passes"),
              ("export and curry it", [ITERTOOLZ, CURRIED], "test_curried passes")),
    target="test_itertoolz")


# -- idna ---------------------------------------------------------------------------------

def _intranges(k: dict):
    obs = yield call("search", pattern="intranges_from_list", path="tests")
    yield from implement(Fix("intranges_from_list", k["intranges_from_list"],
                             "current_range[-1] + 1", "current_range[-1]"),
                         ["tests.test_intranges"])
    yield from full_run_and_recover()
    yield from finish("implemented intranges_from_list")


INTRANGES_TASK = Task(
    id="idna-intranges-from-list", project="idna", kind="single",
    instruction="Implement `intranges_from_list` in idna/intranges.py so that its tests pass.",
    prepare=lambda root: cut(root, INTRANGES, "intranges_from_list"), policy=_intranges,
    plan=plan(("write intranges_from_list", [INTRANGES], "test_intranges passes")), target="test_ranging")


def _idna_multi_prepare(root: Path) -> dict:
    return {**cut(root, INTRANGES, "intranges_contain"), **cut(root, IDNA_CORE, "check_hyphen_ok")}


def _idna_multi(k: dict):
    obs = yield call("run_tests")
    if failures(obs) == 0:
        raise Confused("nothing fails?")
    yield from implement(Fix("intranges_contain", k["intranges_contain"], "if left <= int_ < right:",
                             "if left < int_ < right:"), ["tests.test_intranges"])
    yield from implement(Fix("check_hyphen_ok", k["check_hyphen_ok"]), ["tests.test_idna"])
    yield from full_run_and_recover()
    yield from finish("implemented intranges_contain and check_hyphen_ok")


IDNA_MULTI = Task(
    id="idna-two-files", project="idna", kind="multi",
    instruction="Implement `intranges_contain` in idna/intranges.py and `check_hyphen_ok` in idna/core.py; "
                "make the failing tests pass.",
    prepare=_idna_multi_prepare, policy=_idna_multi,
    plan=plan(("write intranges_contain", [INTRANGES], "test_intranges passes"),
              ("write check_hyphen_ok", [IDNA_CORE], "test_check_hyphen_ok passes")),
    target="test_check_hyphen_ok")


# -- more-itertools -----------------------------------------------------------------------

def _sliding_window(k: dict):
    obs = yield call("search", pattern="class SlidingWindowTests", path="tests")
    yield from implement(Fix("sliding_window", k["sliding_window"], "return zip(iterable)", "return iter(iterable)"),
                         ["tests/test_recipes.py"])
    yield from full_run_and_recover()
    yield from finish("implemented sliding_window")


SLIDING_WINDOW = Task(
    id="more-itertools-sliding-window", project="more-itertools", kind="single",
    instruction="Implement `sliding_window` in more_itertools/recipes.py so its tests pass.",
    prepare=lambda root: cut(root, RECIPES, "sliding_window"), policy=_sliding_window,
    plan=plan(("write sliding_window", [RECIPES], "SlidingWindowTests pass")), target="SlidingWindowTests")

LONG_RECIPES = ("partition", "unique_everseen", "grouper", "sliding_window")


def _recipes_long(k: dict):
    yield from say("Four recipes are stubs. I will look at the tests first, then write them one at a time.")
    classes = yield call("search", pattern=r"class (Partition|UniqueEverseen|Grouper|SlidingWindow)Tests",
                         path="tests")
    if len(classes.splitlines()) < 4:
        raise Confused("I expected four test classes")
    obs = yield call("read_file", path="tests/test_recipes.py", offset=1, limit=40)
    fixes = [Fix("partition", k["partition"], "compress(t1, map(operator.not_, p1))", "compress(t1, p1)"),
             Fix("unique_everseen", k["unique_everseen"]),
             Fix("grouper", k["grouper"], "return zip(*args)", "return zip_longest(*args)"),
             Fix("sliding_window", k["sliding_window"])]
    for fix in fixes:
        cls = fix.name.title().replace("_", "") + "Tests"  # the test class the search showed
        if f"class {cls}" not in classes:
            raise Confused(f"no {cls} among the tests")
        yield from implement(fix, [f"tests.test_recipes.{cls}"])  # unittest ids: codeagent runs unittest here
    yield from full_run_and_recover()
    yield from finish("implemented " + ", ".join(LONG_RECIPES))


RECIPES_LONG = Task(
    id="more-itertools-four-recipes", project="more-itertools", kind="long",
    instruction="partition, unique_everseen, grouper and sliding_window in more_itertools/recipes.py raise "
                "NotImplementedError. Implement them so the test suite passes.",
    prepare=lambda root: cut(root, RECIPES, *LONG_RECIPES), policy=_recipes_long,
    plan=plan(*[(f"write {n}", [RECIPES], "its tests pass") for n in LONG_RECIPES]),
    target="GrouperTests", max_steps=70)


# -- tabulate -----------------------------------------------------------------------------

def _pipe_segment(k: dict):
    obs = yield call("search", pattern="pipe", path="test/test_output.py")
    yield from implement(Fix("_pipe_segment_with_colons", k["_pipe_segment_with_colons"],
                             '("-" * (w - 1)) + ":"', '("-" * w) + ":"'),
                         ["test/test_output.py"])
    yield from full_run_and_recover()
    yield from finish("implemented _pipe_segment_with_colons")


PIPE_SEGMENT = Task(
    id="tabulate-pipe-segment", project="tabulate", kind="single",
    instruction="Implement `_pipe_segment_with_colons` in tabulate/__init__.py (the pipe format's rule line "
                "with alignment colons) so the tests pass.",
    prepare=lambda root: cut(root, TABULATE, "_pipe_segment_with_colons"), policy=_pipe_segment,
    plan=plan(("write _pipe_segment_with_colons", [TABULATE], "the pipe tests pass")), target="test_pipe")


def _isnumber_prepare(root: Path) -> dict:
    replace_once(root, TABULATE, 'return string.lower() in ["inf", "-inf", "nan"]',
                 'return string.lower() in ["inf", "nan"]')
    return {}


def _isnumber(k: dict):
    obs = yield call("run_tests")
    probe = "python -c \"from tabulate import _isnumber; print(_isnumber('-inf'), _isnumber('inf'))\""
    obs = yield call("run_command", command=probe, text="Reproducing first.")
    if "False True" not in obs:
        raise Confused(f"I expected _isnumber('-inf') to be False: {obs[:200]}")
    path, view, line = yield from find_function("_isnumber", stop=r"^    return True")
    yield from replace_fragment(path, '["inf", "nan"]', '["inf", "-inf", "nan"]', why="'-inf' is missing")
    obs = yield call("run_command", command=probe)
    if "True True" not in obs:
        raise Confused("still not a number")
    yield from full_run_and_recover()
    yield from finish("_isnumber accepts '-inf' again")


ISNUMBER = Task(
    id="tabulate-negative-infinity-bug", project="tabulate", kind="bug",
    instruction="tabulate no longer treats '-inf' as a number (it is left-aligned as text). Fix the bug so the "
                "failing tests pass.",
    prepare=_isnumber_prepare, policy=_isnumber,
    plan=plan(("find why '-inf' is not a number and fix it", [TABULATE], "the failing tests pass")),
    target="test_float_conversions")

def _latex(k: dict):
    obs = yield call("search", pattern="def test_latex", path="test/test_output.py")
    if "test_latex" not in obs:
        raise Confused("no latex tests")
    yield from implement(Fix("_latex_line_begin_tabular", k["_latex_line_begin_tabular"],
                             '"decimal": "r"', '"decimal": "d"'), ["test/test_output.py"])
    # "simplifying" the pipe rule on the way, which drops its outer bars: a regression
    yield from replace_fragment(TABULATE, 'return "|" + "|".join(segments) + "|"', 'return "|".join(segments)',
                                why="the pipe rule can be built with one join")
    yield from full_run_and_recover(undo=[(TABULATE, 'return "|".join(segments)',
                                           'return "|" + "|".join(segments) + "|"')])
    yield from finish("implemented _latex_line_begin_tabular")


LATEX = Task(
    id="tabulate-latex-begin", project="tabulate", kind="single",
    instruction="Implement `_latex_line_begin_tabular` in tabulate/__init__.py (the opening lines of the latex "
                "formats) so the tests pass.",
    prepare=lambda root: cut(root, TABULATE, "_latex_line_begin_tabular"), policy=_latex,
    plan=plan(("write _latex_line_begin_tabular", [TABULATE], "the latex tests pass")), target="test_latex")


# -- negative tasks: codeagent must not say done ------------------------------------------

def _gives_up_early(k: dict):
    obs = yield call("search", pattern=r"def frequencies\(")
    obs = yield call("finish", summary="frequencies looks fine to me")
    obs = yield call("finish", summary="the remaining failures are unrelated")  # insisting
    yield from say("I cannot do more here.")


NEG_EMPTY = Task(
    id="neg-toolz-finish-with-empty-diff", project="toolz", kind="negative",
    instruction="Implement `frequencies` in toolz/itertoolz.py so that its tests pass.",
    prepare=lambda root: cut(root, ITERTOOLZ, "frequencies"), policy=_gives_up_early,
    plan=plan(("write frequencies", [ITERTOOLZ], "test_frequencies passes")), target="test_frequencies",
    expect="not_done", max_steps=12)


def _partial(k: dict):
    fix = Fix("underscore", k["underscore"], r'r"([a-z\d])([A-Z])"', r'r"([a-z])([A-Z])"')
    path, view, line = yield from find_function("underscore")
    from realtasks_kit.moves import fill_stub
    yield from fill_stub(path, view, line, fix.first_attempt())
    obs = yield call("run_tests")
    yield call("finish", summary="underscore implemented; one odd case left")
    yield call("finish", summary="done")
    yield from say("That is as far as I go.")


NEG_PARTIAL = Task(
    id="neg-inflection-partial-fix", project="inflection", kind="negative",
    instruction="Implement `underscore` in inflection/__init__.py so that its tests pass.",
    prepare=lambda root: cut(root, INFLECTION, "underscore"), policy=_partial,
    plan=plan(("write underscore", [INFLECTION], "test_underscore passes")),
    target="test_underscore[Area51Controller", expect="not_done", max_steps=12)


def _stuck(k: dict):
    path, view, line = yield from find_function("intranges_from_list")
    for _ in range(12):
        yield from say("I am not sure how intranges are encoded; I cannot finish this.")


NEG_GIVE_UP = Task(
    id="neg-idna-gives-up", project="idna", kind="negative",
    instruction="Implement `intranges_from_list` in idna/intranges.py so that its tests pass.",
    prepare=lambda root: cut(root, INTRANGES, "intranges_from_list"), policy=_stuck,
    plan=plan(("write intranges_from_list", [INTRANGES], "test_intranges passes")), target="test_ranging",
    expect="not_done", max_steps=16)


TASKS = [UNDERSCORE, ORDINAL, INFLECTION_LONG, FREQUENCIES, INTERPOSE, INTRANGES_TASK, IDNA_MULTI,
         SLIDING_WINDOW, RECIPES_LONG, PIPE_SEGMENT, ISNUMBER, LATEX, NEG_EMPTY, NEG_PARTIAL, NEG_GIVE_UP]
FAST = ["inflection-underscore", "inflection-ordinal-bug", "neg-inflection-partial-fix"]
