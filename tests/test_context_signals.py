"""Each way of reading a bug report moves the right file to the top of a small
repository where plain word overlap would pick another, and says so in `reasons`.
The distractors are built so that the case fails when that signal is taken out."""

from __future__ import annotations

import pytest

from codeagent.context import ContextEngine

FILES = {
    # The traceback's innermost frame is in validators.py; fields.py repeats every word.
    "shop/core/validators.py": "class URLValidator:\n    def __call__(self, value):\n        return split(value)\n",
    "shop/forms/fields.py": (
        "class URLField:\n    '''Raises ValidationError.'''\n"
        "    def clean(self, value):\n        return URLValidator()(value)\n"
    ),
    # A name imported from a package whose __init__ only re-exports it.
    "shop/parsing/latex/__init__.py": "from ._parse import parse_latex\n",
    "shop/parsing/latex/_parse.py": "def parse_latex(text):\n    return convert(text)\n",
    "shop/legacy/latex.py": "def parse_latex(text):\n    'latex fraction parsed wrong by the old latex fraction parser'\n",
    "shop/parsing/mathml.py": "def parse_mathml(text):\n    '''latex fraction parse latex fraction parse latex wrong'''\n",
    # register_hook on two classes; the report means Request's.
    "shop/models.py": "class Request:\n    def register_hook(self, event, hook):\n        self.hooks[event] = hook\n",
    "shop/sessions.py": (
        "class Session:\n    '''Allow lists of hooks in the hooks argument: lists of hooks wrap.'''\n    def register_hook(self, event, hook):\n"
        "        self.hooks[event].append(hook)  # hooks lists\n"
    ),
    # Settings and the test that names them.
    "shop/conf/global_settings.py": "FILE_UPLOAD_PERMISSIONS = None\nDEBUG = False\n",
    "shop/storage.py": (
        "from shop.conf import settings\n\n\nclass FileStorage:\n    def save(self, name):\n"
        "        mode = settings.FILE_UPLOAD_PERMISSIONS\n        return mode\n"
    ),
    "shop/uploads.py": "def handle(upload):\n    '''the upload permission mode'''\n",
    "tests/test_storage.py": (
        "from shop.storage import FileStorage\n\n\ndef test_upload_permissions():\n"
        "    '''upload permission default upload file permission'''\n    assert FileStorage().save('x') == 0o644\n"
    ),
    "tests/test_cart.py": "class Cart:\n    def total(self):\n        return 0\n\n\ndef test_cart_total_rounding():\n    '''cart total rounding off by a cent: cart total rounding cent; a cart total off by a cent'''\n",
    "shop/interactive/session.py": "BANNER = 'Python console. Type help, copyright, credits or license for more.'\n",
    "shop/cart.py": "class Cart:\n    def total(self):\n        return round(sum(self.items), 2)\n",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    import subprocess

    for rel, content in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True)
    with ContextEngine(root, cache_dir=tmp_path_factory.mktemp("cache")) as eng:
        yield eng


def first(engine, text):
    ranked = engine.rank(text, top_k=5)
    return ranked[0], ranked


def test_traceback_frame_nearest_the_error_wins(engine):
    top, _ = first(engine, '''Validating a form raises ValueError instead of ValidationError
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/shop/forms/fields.py", line 4, in clean
  File "/venv/lib/python3.11/site-packages/shop/core/validators.py", line 3, in __call__
  File "/usr/lib/python3.11/urllib/parse.py", line 440, in urlsplit
ValueError: Invalid IPv6 URL''')
    assert top.path == "shop/core/validators.py"
    assert "in the traceback (line 3)" in top.reasons


def test_name_imported_from_a_package_resolves_to_its_definition(engine):
    top, _ = first(engine, ">>> from shop.parsing.latex import parse_latex\n>>> parse_latex(r'\\frac{1}{2}')\nlatex fraction parsed wrong")
    assert top.path == "shop/parsing/latex/_parse.py"
    assert "defines parse_latex (from shop.parsing.latex)" in top.reasons


def test_owner_dot_member_picks_the_owner_s_file(engine):
    top, _ = first(engine, "Allow lists in the hooks argument: Request.register_hook wraps lists of hooks in a list.")
    assert top.path == "shop/models.py"
    assert "defines Request.register_hook" in top.reasons


def test_named_test_points_at_its_subject(engine):
    _, ranked = first(engine, "test_upload_permissions fails: the default upload file permission is wrong")
    paths = [f.path for f in ranked]
    assert paths.index("shop/storage.py") < paths.index("shop/uploads.py")  # by words alone uploads.py wins
    assert "tested by tests/test_storage.py" in ranked[paths.index("shop/storage.py")].reasons
    named = next(f for f in ranked if f.path == "tests/test_storage.py")
    assert named.role == "test" and "defines the test test_upload_permissions" in named.reasons


def test_setting_name_finds_where_it_is_defined_and_used(engine):
    _, ranked = first(engine, "Set a default FILE_UPLOAD_PERMISSIONS: the upload permission mode of a file is not applied")
    paths = [f.path for f in ranked]
    assert set(paths[:2]) == {"shop/conf/global_settings.py", "shop/storage.py"}
    assert any(r == "uses FILE_UPLOAD_PERMISSIONS" for r in ranked[paths.index("shop/storage.py")].reasons)


def test_unnamed_tests_do_not_crowd_out_the_source(engine):
    _, ranked = first(engine, """Cart total rounding is off by a cent
Python 3.11.4 (main, Jun  7 2023, 12:45:48) [GCC 11.3.0] on linux
Type "help", "copyright", "credits" or "license" for more information.
>>> Cart().total()""")
    paths = [f.path for f in ranked]
    assert paths[0] == "shop/cart.py"
    assert "shop/interactive/session.py" not in paths  # the REPL banner is not part of the report
    test = ranked[paths.index("tests/test_cart.py")]
    assert test.role == "test"
