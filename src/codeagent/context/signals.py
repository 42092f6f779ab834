"""Clues (clues.py) resolved against one corpus: per-file evidence with the reason
for each bit of it. Every signal returns an array over the corpus's files, scaled
so that 1.0 means "this file is named outright", and adds its reasons to `notes`.

    trace     a traceback frame or a prose path resolves to the file (longest path
              suffix shared with a repo path; frames nearest the error weigh most)
    module    a dotted module path resolves to the file, or a name imported from it
              is defined in the file within that package
    member    the file defines both halves of `Owner.member`, the member inside Owner
    test      the file defines a test the report names (it is a test: it leaves the
              tests' demotion), or is the subject of such a test file (test_x.py -> x.py)
    setting   the file defines or uses an UPPER_CASE setting the report names
"""

from __future__ import annotations

import marshal
import math

import numpy as np

from codeagent.context.clues import Clues
from codeagent.context.corpus import Corpus
from codeagent.context.tags import DEFS
from codeagent.context.text import stem

Notes = dict[int, list[str]]
MAX_MEMBER_CANDIDATES = 12


def _note(notes: Notes, i: int, text: str) -> None:
    found = notes.setdefault(int(i), [])
    if text not in found:
        found.append(text)


def resolve_path(corpus: Corpus, written: str) -> list[int]:
    """Files whose path shares the longest suffix (in components) with `written`.
    One shared component (the bare file name) is enough only when it is unique."""
    parts = [p for p in written.strip("/").split("/") if p not in ("", ".")]
    if not parts:
        return []
    exact = corpus.position.get("/".join(parts))
    if exact is not None:
        return [exact]
    best, best_len = [], 0
    for i in corpus.by_name.get(parts[-1], ()):
        mine = corpus.paths[i].split("/")
        shared = 0
        while shared < min(len(mine), len(parts)) and mine[-1 - shared] == parts[-1 - shared]:
            shared += 1
        if shared > best_len:
            best, best_len = [i], shared
        elif shared == best_len:
            best.append(i)
    if best_len >= 2 or (best_len == 1 and len(best) == 1 and parts[-1] != "__init__.py"):
        return best
    return []


def trace_signal(corpus: Corpus, clues: Clues, notes: Notes) -> np.ndarray:
    scores = np.zeros(len(corpus))
    order = 0
    for frame in clues.trace:  # nearest the error first
        docs = resolve_path(corpus, frame.path)
        if not docs:
            continue
        weight = max(1.0 - 0.4 * order, 0.3) / len(docs)
        order += 1
        for i in docs:
            scores[i] = max(scores[i], weight)
            _note(notes, i, f"in the traceback (line {frame.line})")
    for written in clues.paths:
        docs = resolve_path(corpus, written)
        for i in docs:
            scores[i] = max(scores[i], 0.9 / len(docs))
            _note(notes, i, f"path {written} named")
    return scores


def module_signal(corpus: Corpus, clues: Clues, notes: Notes) -> np.ndarray:
    scores = np.zeros(len(corpus))
    graph = corpus.graph
    for dotted, imported in clues.modules.items():
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            docs = corpus.modules.get(".".join(parts[:cut]))
            if docs:
                break
        else:
            continue
        if cut == 1 and not imported:
            continue  # `import numpy`, `sympy.foo` in prose: the top package says little
        module = ".".join(parts[:cut])
        names = parts[cut:cut + 1] + imported
        found_inside = False
        for name in names:
            definers = graph.definers(name)
            inside = [int(i) for i in definers if any(_under(corpus.paths[i], corpus.paths[d]) for d in docs)]
            for i in inside[:8]:
                scores[i] = max(scores[i], 0.8 / max(len(inside), 1) ** 0.5)
                _note(notes, i, f"defines {name} (from {module})")
                found_inside = True
        for i in docs:
            scores[i] = max(scores[i], (0.3 if found_inside else 0.6) / len(docs))
            _note(notes, i, f"module {module}")
    return scores


def _under(path: str, module_path: str) -> bool:
    """`path` is the module file itself or inside the module's package folder."""
    folder = module_path.rsplit("/", 1)[0] if module_path.endswith("/__init__.py") else module_path[:-3]
    return path == module_path or path.startswith(folder + "/")


def member_signal(corpus: Corpus, clues: Clues, notes: Notes) -> np.ndarray:
    scores = np.zeros(len(corpus))
    graph = corpus.graph
    for owner, member in clues.qualified:
        both = np.intersect1d(graph.definers(owner), graph.definers(member))
        if not len(both) or len(both) > MAX_MEMBER_CANDIDATES:
            continue
        exact = [int(i) for i in both if _member_of(corpus, int(i), owner, member)]
        for i in exact or both.tolist():
            weight = (1.0 if exact else 0.4) / len(exact or both) ** 0.5
            scores[i] = max(scores[i], weight)
            _note(notes, i, f"defines {owner}.{member}")
    return scores


def _member_of(corpus: Corpus, i: int, owner: str, member: str) -> bool:
    blob = corpus.records[i][DEFS]
    defs = marshal.loads(blob) if blob else []
    return any(d[0] == member and d[4] >= 0 and defs[d[4]][0] == owner for d in defs)


def test_signal(corpus: Corpus, clues: Clues, notes: Notes) -> tuple[np.ndarray, np.ndarray]:
    """(evidence, named): files defining a named test, and the sources those tests cover."""
    scores = np.zeros(len(corpus))
    named = np.zeros(len(corpus), bool)
    graph = corpus.graph
    for test in clues.tests:
        definers = graph.definers(test)
        for i in definers[:6]:
            named[i] = True
            scores[i] = max(scores[i], 0.3)
            _note(notes, int(i), f"defines the test {test}")
            for j in _subjects(corpus, int(i)):
                scores[j] = max(scores[j], 1.0)
                _note(notes, j, f"tested by {corpus.paths[i]}")
    return scores, named


def _subjects(corpus: Corpus, i: int) -> list[int]:
    """x.py (nearest first) for a test file test_x.py / x_test.py."""
    name = corpus.paths[i].rsplit("/", 1)[-1]
    for prefix, suffix in (("test_", ""), ("", "_test")):
        stem_ = name[:-3] if name.endswith(".py") else name
        if stem_.startswith(prefix) and stem_.endswith(suffix) and len(stem_) > len(prefix) + len(suffix):
            subject = stem_[len(prefix):len(stem_) - len(suffix)] + ".py"
            found = [j for j in corpus.by_name.get(subject, ()) if not corpus.is_test[j]]
            return found[:2] if len(found) <= 3 else []
    return []


def setting_signal(corpus: Corpus, clues: Clues, notes: Notes) -> np.ndarray:
    scores = np.zeros(len(corpus))
    n = len(corpus)
    for setting in clues.settings[:8]:
        docs, _ = corpus.term_hits(stem(setting.lower()))
        if not len(docs) or len(docs) > max(20, n // 20):
            continue
        weight = min(1.0, 2 * math.log(1 + n / len(docs)) / math.log(1 + n))
        defined = set(corpus.graph.definers(setting).tolist())
        for i in docs.tolist():
            scores[i] += weight * (1.0 if i in defined else 0.8)
            _note(notes, i, f"{'defines' if i in defined else 'uses'} {setting}")
    return np.minimum(scores, 1.0)
