"""The layered matcher, one table row per behaviour: which layer matches, the exact
result, and every refusal (ambiguity at each layer, not found, bad elisions)."""

from __future__ import annotations

import pytest

from codeagent.edits.matching import Miss, locate

SRC = (
    "import os\n"
    "\n"
    "\n"
    "def load(path):\n"
    "    with open(path) as handle:\n"
    "        data = handle.read()\n"
    "    return data\n"
    "\n"
    "\n"
    "class Store:\n"
    "    def __init__(self, root):\n"
    "        self.root = root\n"
    "        self.items = {}\n"
    "\n"
    "    def get(self, key):\n"
    "        return self.items.get(key)\n"
    "\n"
    "    def put(self, key, value):\n"
    "        self.items[key] = value\n"
    "        return value\n"
)


def apply(text, old, new, **kw):
    found = locate(text, old, new, **kw)
    assert not isinstance(found, Miss), found
    for m in sorted(found, key=lambda m: m.start, reverse=True):
        text = text[: m.start] + m.replacement + text[m.end :]
    return found[0].layer, text


APPLIES = [
    # (id, old, new, expected layer, expected replaced line -> new line pairs)
    ("exact-substring", "data = handle.read()", "data = handle.read().strip()", "exact",
     {"        data = handle.read()": "        data = handle.read().strip()"}),
    ("exact-lines", "    def get(self, key):\n        return self.items.get(key)\n",
     "    def get(self, key):\n        return self.items[key]\n", "exact",
     {"        return self.items.get(key)": "        return self.items[key]"}),
    ("trailing-spaces", "    def get(self, key):   \n        return self.items.get(key)  \n",
     "    def get(self, key):   \n        return self.items[key]  \n", "whitespace",
     {"        return self.items.get(key)": "        return self.items[key]"}),
    ("crlf", "    def get(self, key):\r\n        return self.items.get(key)\r\n",
     "    def get(self, key):\r\n        return self.items[key]\r\n", "whitespace",
     {"        return self.items.get(key)": "        return self.items[key]"}),
    ("dedented", "def get(self, key):\n    return self.items.get(key)\n",
     "def get(self, key):\n    if key is None:\n        return None\n    return self.items.get(key)\n", "indentation",
     {"        return self.items.get(key)": "        if key is None:\n            return None\n        return self.items.get(key)"}),
    ("dedented-one-line-becomes-two", "self.root = root\n", "self.root = root\nself.size = 0\n", "indentation",
     {"        self.root = root": "        self.root = root\n        self.size = 0"}),
    ("over-indented", "            self.root = root\n            self.items = {}\n",
     "            self.root = root\n            self.items = dict()\n", "indentation",
     {"        self.items = {}": "        self.items = dict()"}),
    ("elided-middle", "class Store:\n    ...\n    def put(self, key, value):\n        self.items[key] = value\n",
     "class Store:\n    ...\n    def put(self, key, value):\n        self.items[key] = value  # stored\n", "elision",
     {"        self.items[key] = value": "        self.items[key] = value  # stored"}),
    ("elided-comment-marker", "def load(path):\n    # ... existing code ...\n    return data\n",
     "def load(path):\n    # ... existing code ...\n    return data.upper()\n", "elision",
     {"    return data": "    return data.upper()"}),
    ("fuzzy-typo-in-context", "    def put(self, key, valeu):\n        self.items[key] = value\n        return value\n",
     "    def put(self, key, valeu):\n        self.items[key] = value\n        return None\n", "fuzzy",
     {"        return value": "        return None"}),
]


@pytest.mark.parametrize("case", APPLIES, ids=[c[0] for c in APPLIES])
def test_each_layer_applies_exactly_the_meant_change(case):
    _, old, new, layer, changes = case
    got_layer, text = apply(SRC, old, new)
    expected = SRC
    for before, after in changes.items():
        assert expected.count(before + "\n") == 1
        expected = expected.replace(before + "\n", after + "\n")
    assert got_layer == layer
    assert text == expected


REFUSALS = [
    # (id, text, old, reason, layer, candidate line ranges)
    ("exact-ambiguous", SRC, "self.items", "ambiguous", "exact", [(13, 13), (16, 16), (19, 19)]),
    ("whitespace-ambiguous", "a = 1\nb = 2\n\na = 1\nb = 2\n", "a = 1  \nb = 2 \n", "ambiguous", "whitespace",
     [(1, 2), (4, 5)]),
    ("indentation-ambiguous", "def f():\n    x = 1\n    y = 2\n\ndef g():\n        x = 1\n        y = 2\n",
     "x = 1\ny = 2\n", "ambiguous", "indentation", [(2, 3), (6, 7)]),
    ("elision-ambiguous", "a()\nb()\nz()\na()\nc()\nz()\n", "a()\n...\nz()\n", "ambiguous", "elision",
     [(1, 3), (4, 6)]),
    ("fuzzy-ambiguous",
     "result = compute_total(alpha, beta1)\nresult = compute_total(alpha, beta2)\n",
     "result = compute_total(alpha, beta_)\n", "ambiguous", "fuzzy", [(1, 1), (2, 2)]),
    ("exact-with-a-reindented-twin", "if a:\n    x()\n    y()\nif b:\n        x()\n        y()\n",
     "    x()\n    y()\n", "ambiguous", "indentation", [(2, 3), (5, 6)]),
    ("not-found", SRC, "def remove(self, key):\n", "not-found", "", []),
    ("fuzzy-too-dissimilar", SRC, "    def put(self, name, thing):\n        self.things[name] = thing\n",
     "not-found", "", []),
    ("elision-unbounded", SRC, "...\n    return data\n", "elision", "elision", []),
    ("elision-marker-dropped-in-new", SRC, "def load(path):\n    ...\n    return data\n", "elision", "elision", []),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_each_refusal_names_its_reason_and_every_candidate(case):
    _, text, old, reason, layer, candidates = case
    new = "REPLACED\n...\nREPLACED\n" if "..." in old and "dropped" not in case[0] else "REPLACED\n"
    found = locate(text, old, new)
    assert isinstance(found, Miss)
    assert found.reason == reason
    assert found.layer == layer
    if candidates:
        assert found.candidates == candidates


def test_line_hint_picks_the_one_candidate_it_names():
    text = "x = 1\ny = 2\nx = 1\n"
    assert isinstance(locate(text, "x = 1\n", "x = 3\n"), Miss)
    _, out = apply(text, "x = 1\n", "x = 3\n", line_hint=3)
    assert out == "x = 1\ny = 2\nx = 3\n"
    assert isinstance(locate(text, "x = 1\n", "x = 3\n", line_hint=2), Miss)  # names neither: refused


def test_anchor_picks_the_one_candidate_inside_its_block():
    text = "def a():\n    return 0\n\ndef b():\n    return 0\n\ndef c():\n    return 0\n"
    _, out = apply(text, "    return 0\n", "    return 1\n", anchor="def b():")
    assert out == "def a():\n    return 0\n\ndef b():\n    return 1\n\ndef c():\n    return 0\n"
    twice = "def b():\n    if x:\n        return 0\n    return 0\n"
    found = locate(twice, "return 0", "return 1", anchor="def b():")
    assert isinstance(found, Miss) and found.candidates == [(3, 3), (4, 4)]


def test_a_block_replaced_by_one_blank_line_keeps_that_line():
    text = "a = 1\n\n    def f():\n        pass\nb = 2\n"
    layer, out = apply(text, "\n        def f():\n            pass\n", "\n")
    assert layer == "indentation" and out == "a = 1\n\nb = 2\n"


def test_fuzzy_takes_a_window_that_clearly_beats_its_rival_and_refuses_a_close_race():
    first = "value = compute_total(alpha, beta, gamma)  # first\n"
    other = "value = compute_total(alpha, beta, gamma)  # other\n"  # 0.93 similar to old
    near = "value = compute_total(alpha, beta, gamma)  # fist\n"  # 0.98 similar to old
    old = "value = compute_total(alpha, beta, gamma)  # frst\n"  # 0.99 similar to `first`
    layer, out = apply(first + other, old, "value = 0\n")
    assert (layer, out) == ("fuzzy", "value = 0\n" + other)
    found = locate(first + near, old, "value = 0\n")
    assert isinstance(found, Miss) and found.reason == "ambiguous" and found.candidates == [(1, 1), (2, 2)]


def test_replace_all_changes_every_occurrence():
    found = locate(SRC, "self.items", "self.store", replace_all=True)
    assert [m.line + 1 for m in found] == [13, 16, 19]


def test_partial_line_exact_keeps_the_rest_of_the_line():
    _, out = apply("call(a, b)  # keep\n", "call(a, b)", "call(b, a)")
    assert out == "call(b, a)  # keep\n"


def test_tabs_are_kept_when_matching_by_whitespace():
    text = "if x:\n\tdo()\n\tdone()\n"
    _, out = apply(text, "if x:  \n\tdo()\n", "if x:\n\tdo_more()\n")
    assert out == "if x:\n\tdo_more()\n\tdone()\n"


def test_tabs_against_spaces_are_refused_not_guessed():
    text = "def f():\n\tif a:\n\t\tb()\n"
    found = locate(text, "if a:\n    b()\n", "if a:\n    c()\n")
    assert isinstance(found, Miss) and found.reason == "not-found"


def test_reindented_insertion_moves_to_the_file_indentation():
    text = "class A:\n    def f(self):\n        if a:\n            b()\n"
    layer, out = apply(text, "if a:\n    b()\n", "if a:\n    b()\n    c()\nd()\n")
    assert layer == "indentation"
    assert out == "class A:\n    def f(self):\n        if a:\n            b()\n            c()\n        d()\n"
