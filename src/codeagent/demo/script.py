"""The demo's scripted model turns: a plan, a first attempt the tests catch, the repair."""

from __future__ import annotations

from codeagent.models.scripted import ScriptedModel, tool

INSTRUCTION = "Make slugify collapse runs of punctuation into one dash and strip dashes from the ends."

WRONG_OLD = '    text = re.sub(r"[^a-zA-Z0-9]", "-", text.lower())\n    return text\n'
WRONG_NEW = '    text = re.sub(r"[^a-zA-Z0-9]+", "-", text.lower())\n    return text\n'
RIGHT_OLD = WRONG_NEW
RIGHT_NEW = '    text = re.sub(r"[^a-zA-Z0-9]+", "-", text.lower())\n    return text.strip("-")\n'


def demo_model() -> ScriptedModel:
    return ScriptedModel([
        tool("update_plan", steps=[
            {"what": "Read slugify and its tests", "files": ["slugkit/slug.py", "tests/test_slug.py"],
             "done_when": "the failing cases are understood"},
            {"what": "Collapse punctuation runs and strip end dashes", "files": ["slugkit/slug.py"],
             "done_when": "all tests in tests/test_slug.py pass"},
        ]),
        tool("read_file", text="First, the current implementation.", path="slugkit/slug.py"),
        tool("edit_file", text="A `+` in the pattern should collapse runs.", path="slugkit/slug.py",
             old=WRONG_OLD, new=WRONG_NEW),
        tool("run_tests"),
        tool("edit_file", text="Runs collapse now, but dashes remain at the ends: strip them.",
             path="slugkit/slug.py", old=RIGHT_OLD, new=RIGHT_NEW),
        tool("run_tests"),
        tool("finish", summary="slugify collapses punctuation runs into one dash and strips dashes at the ends."),
    ], name="scripted-demo")
