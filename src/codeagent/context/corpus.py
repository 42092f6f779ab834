"""A read-only snapshot of an index for ranking: the files in a fixed order, their
lexical terms as one searchable text, path terms, and the file graph (built on
first use). A new snapshot is taken whenever the index changes."""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from codeagent.context.graph import FileGraph, SymbolTable
from codeagent.context.tags import LANG, LENGTH, TERMS
from codeagent.context.text import path_terms

TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|spec|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|(^|/)conftest\.py$")
# examples, docs and benchmarks written in code: read, but rarely what a fix changes
PERIPHERAL_PATH = re.compile(r"(^|/)(examples?|docs?|benchmarks?|tutorials|galleries|asv_bench)/")
_path_memo: dict[str, list[str]] = {}


def terms_of_path(path: str) -> list[str]:
    found = _path_memo.get(path)
    if found is None:
        found = _path_memo[path] = path_terms(path)
    return found


class Corpus:
    """Everything ranking reads, for one version of the index."""

    def __init__(self, records: dict[str, tuple], previous: Corpus | None = None):
        self.paths = sorted(records)
        self.records = [records[p] for p in self.paths]
        self.position = {p: i for i, p in enumerate(self.paths)}
        self.symbols = previous.symbols if previous is not None else SymbolTable()
        if previous is not None and previous.paths == self.paths and "path_texts" in previous.__dict__:
            self.path_texts = previous.path_texts  # same files: the path terms did not change
        texts = [r[TERMS] for r in self.records]
        self.text = "\n".join(texts)
        lengths = np.fromiter((len(t) + 1 for t in texts), np.int64, len(texts))
        self.starts = np.concatenate(([0], np.cumsum(lengths)))[:-1] if len(texts) else np.zeros(0, np.int64)
        self.doc_len = np.fromiter((r[LENGTH] for r in self.records), np.float64, len(texts))
        self.is_code = np.fromiter((bool(r[LANG]) for r in self.records), bool, len(texts))
        if previous is not None and previous.paths == self.paths:
            self.is_test, self.is_peripheral = previous.is_test, previous.is_peripheral
        else:
            self.is_test = np.fromiter((bool(TEST_PATH.search(p)) for p in self.paths), bool, len(texts))
            self.is_peripheral = np.fromiter((bool(PERIPHERAL_PATH.search(p)) for p in self.paths), bool, len(texts))

    def __len__(self) -> int:
        return len(self.paths)

    def term_hits(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(documents, counts) containing a lexical term."""
        needle = f" {term}:"
        text, find, size = self.text, self.text.find, len(term) + 2
        pos, counts = [], []
        at = find(needle)
        while at >= 0:
            end = text.find(" ", at + size)
            pos.append(at)
            counts.append(int(text[at + size : end]))
            at = find(needle, end)
        if not pos:
            return np.zeros(0, np.int64), np.zeros(0)
        docs = np.searchsorted(self.starts, np.array(pos), side="right") - 1
        found = np.array(counts, np.float64)
        if len(docs) > 1 and (np.diff(docs) == 0).any():  # a term listed twice in one file
            docs, where = np.unique(docs, return_inverse=True)
            found = np.bincount(where, weights=found)
        return docs, found

    @cached_property
    def path_texts(self) -> tuple[str, str, np.ndarray, np.ndarray]:
        """Path terms and file-name terms, one line per file: searched like content terms."""
        full = [" " + " ".join(terms_of_path(p)) + " " for p in self.paths]
        names = [" " + " ".join(terms_of_path(p.rsplit("/", 1)[-1])) + " " for p in self.paths]
        return "\n".join(full), "\n".join(names), _starts(full), _starts(names)

    def path_hits(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(files whose path has the term, whether it is in the file name)."""
        full, names, full_starts, name_starts = self.path_texts
        docs = _find_all(full, f" {term} ", full_starts)
        in_name = np.isin(docs, _find_all(names, f" {term} ", name_starts))
        return docs, in_name

    @cached_property
    def by_name(self) -> dict[str, list[int]]:
        """File name -> files with that name."""
        found: dict[str, list[int]] = {}
        for i, p in enumerate(self.paths):
            found.setdefault(p.rsplit("/", 1)[-1], []).append(i)
        return found

    @cached_property
    def modules(self) -> dict[str, list[int]]:
        """Dotted module name -> Python files that may be it. Every tail of a path
        counts (`lib/matplotlib/axes/_base.py` is also `matplotlib.axes._base`), so
        src/ and lib/ layouts and installed paths resolve alike."""
        found: dict[str, list[int]] = {}
        for i, p in enumerate(self.paths):
            if not p.endswith((".py", ".pyx")) or self.is_test[i]:
                continue
            parts = p.rsplit(".", 1)[0].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            for start in range(len(parts)):
                found.setdefault(".".join(parts[start:]), []).append(i)
        return found

    @cached_property
    def graph(self) -> FileGraph:
        return FileGraph(self.records, self.symbols)


def _starts(lines: list[str]) -> np.ndarray:
    lengths = np.fromiter(map(len, lines), np.int64, len(lines)) + 1
    return np.concatenate(([0], np.cumsum(lengths)))[:-1] if lines else np.zeros(0, np.int64)


def _find_all(text: str, needle: str, starts: np.ndarray) -> np.ndarray:
    """Lines of `text` (by their start offsets) containing `needle`, each once."""
    pos, at = [], text.find(needle)
    while at >= 0:
        pos.append(at)
        at = text.find(needle, at + 1)
    if not pos:
        return np.zeros(0, np.int64)
    return np.unique(np.searchsorted(starts, np.array(pos), side="right") - 1)
