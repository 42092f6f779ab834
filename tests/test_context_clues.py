"""Reading a bug report for clues (codeagent.context.clues), on snippets of real
issue text (paraphrased from public issue trackers)."""

from __future__ import annotations

from codeagent.context.clues import read_clues, without_noise

TRACEBACK = '''URLField throws ValueError instead of ValidationError on clean
forms.URLField( ).clean('////]@N.AN')
results in:
	ValueError: Invalid IPv6 URL
	Traceback (most recent call last):
	 File "basic_fuzzer.py", line 22, in TestOneInput
	 File "/usr/lib/python3/site-packages/shop/forms/fields.py", line 151, in clean
	 File "shop/core/validators.py", line 130, in __call__
	 File "urllib/parse.py", line 440, in urlsplit
'''

PYTEST_OUTPUT = '''
    def test_b():
>       assert b"" == b"42"
E       AssertionError: assert b'' == b'42'
E         Right contains more items, first extra item: 52

src/_pytest/assertion/util.py:120: AssertionError
'''


def test_traceback_frames_nearest_the_error_come_first():
    clues = read_clues(TRACEBACK)
    assert [f.path for f in clues.trace] == [
        "urllib/parse.py", "shop/core/validators.py", "/usr/lib/python3/site-packages/shop/forms/fields.py", "basic_fuzzer.py"
    ]
    assert clues.trace[1].line == 130 and clues.trace[1].depth == 1


def test_pytest_locations_are_frames():
    clues = read_clues(PYTEST_OUTPUT)
    assert [(f.path, f.line) for f in clues.trace] == [("src/_pytest/assertion/util.py", 120)]


def test_exception_messages_are_kept_for_a_literal_search():
    assert "Invalid IPv6 URL" in read_clues(TRACEBACK).messages
    assert "assert b'' == b'42'" in read_clues(PYTEST_OUTPUT).messages


def test_imports_and_dotted_modules():
    text = """>>> from sympy.parsing.latex import parse_latex
>>> import sympy.physics.vector as spv
The bug is in sklearn.linear_model.RidgeClassifierCV, see also setup.py."""
    clues = read_clues(text)
    assert clues.modules["sympy.parsing.latex"] == ["parse_latex"]
    assert "sympy.physics.vector" in clues.modules
    assert "sklearn.linear_model.RidgeClassifierCV" in clues.modules
    assert not any(m.endswith(".py") or m == "setup.py" for m in clues.modules)


def test_qualified_names_pair_owner_and_member():
    clues = read_clues("Currently the Request class has a .register_hook() method; Request.register_hook should accept lists. self.hooks is fine.")
    assert ("Request", "register_hook") in clues.qualified
    assert not any(owner == "self" for owner, _ in clues.qualified)


def test_prose_paths_tests_and_settings():
    text = ("The default FILE_UPLOAD_PERMISSIONS is not applied; see django/core/files/storage.py and "
            "test_upload_permissions in TestFileStorage. http://example.com/a/b.html is a link.")
    clues = read_clues(text)
    assert clues.paths == ["django/core/files/storage.py"]
    assert clues.settings == ["FILE_UPLOAD_PERMISSIONS"]
    assert clues.tests == ["test_upload_permissions", "TestFileStorage"]


def test_code_names_come_from_code_spans_and_calls():
    text = "`lambdify` fails on MatrixSymbol names.\n```\ncurlyv = sy.MatrixSymbol('{v}', 2, 1)\n```\nCalling simplify(expr) hangs, says the docs."
    code = read_clues(text).code
    assert {"lambdify", "MatrixSymbol", "curlyv", "simplify"} <= set(code)
    assert "docs" not in code and "fails" not in code


def test_the_repl_banner_is_not_part_of_the_report():
    text = """Reproduce:
root@d31ef1c26093:/# python3
Python 3.6.9 (default, Jan 26 2021, 15:33:00)
[GCC 8.4.0] on linux
Type "help", "copyright", "credits" or "license" for more information.
>>> from sympy.parsing.latex import parse_latex"""
    kept = without_noise(text)
    assert "copyright" not in kept and "GCC" not in kept and "3.6.9" not in kept
    assert "from sympy.parsing.latex import parse_latex" in kept and "Reproduce:" in kept
