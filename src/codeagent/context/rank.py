"""Relevance of every file to an instruction.

Direct evidence, read from the report the way a maintainer reads it (clues.py,
resolved in signals.py; 1.0 = the file is named outright), each with a weight:
  trace    tracebacks and repo paths      module   dotted modules and imports
  member   Owner.member definitions       test     named tests and their subjects
  setting  UPPER_CASE settings
plus lexical evidence, each part scaled to its best file:
  content  BM25 over identifier-split terms of the file's content
  path     query terms in the path (the file name counts double)
  defines  the file defines a name the instruction mentions (rarer names count more)
  literal  the file contains a quoted string or a --flag the instruction quotes
           (error messages, CLI options), found with `git grep -F`
Test files the report does not name are demoted (they quote the same names and
messages, but the fix is rarely there), as are docs, examples and benchmarks. The
sum is fused with the file graph: PageRank personalised to the matched files, so
the files they lean on rise too. Ties break by path: the same input gives the same
order. Every part that counts for a file is named in its `reasons`.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codeagent.context.clues import Clues, read_clues, without_noise
from codeagent.context.corpus import Corpus
from codeagent.context.signals import member_signal, module_signal, setting_signal, test_signal, trace_signal
from codeagent.context.tags import DEFNAMES
from codeagent.context.text import IDENT, STOPWORDS, query_terms

K1, B = 1.2, 0.75
WEIGHTS = {"content": 1.0, "path": 0.45, "defines": 0.7, "literal": 1.0}
EVIDENCE = {"trace": 1.2, "module": 0.8, "member": 0.9, "test": 0.6, "setting": 0.8}
GRAPH_WEIGHT = 0.3
NON_CODE = 0.75  # docs, templates, data: they matter, but code usually changes first
TEST_FILES = 0.35  # tests the report does not name: they quote its names and messages
PERIPHERAL = 0.6  # examples, docs and benchmarks written in code
MAX_LITERALS = 6
LITERAL_RE = re.compile(
    r"""(?<![\w])"([^"\n]{4,200})"(?![\w])|(?<![\w])'([^'\n]{4,200})'(?![\w])|`([^`\n]{3,200})`"""
)
FLAG_RE = re.compile(r"(?<![\w-])(--[A-Za-z0-9][\w-]*)")


@dataclass
class RankedFile:
    """One file's relevance to an instruction, with the evidence behind it."""

    path: str
    score: float
    reasons: list[str] = field(default_factory=list)
    role: str = "source"  # or "test"
    kind: str = "ranked_file"


@dataclass
class Scores:
    """Per-file arrays behind a ranking (kept for the repo map and reasons)."""

    final: np.ndarray
    parts: dict[str, np.ndarray]
    graph: np.ndarray
    terms: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (docs, contribution)
    mentioned: set[str]  # lower-cased names the instruction mentions that some file defines
    literal_hits: dict[str, list[int]]
    notes: dict[int, list[str]] = field(default_factory=dict)  # file -> reasons from direct evidence
    demoted: np.ndarray | None = None  # test files the report does not name


def score_files(corpus: Corpus, root: Path, query: str) -> Scores:
    n = len(corpus)
    query = without_noise(query)
    clues = read_clues(query)
    terms = query_terms(query)
    parts = {name: np.zeros(n) for name in WEIGHTS}
    term_parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if terms and n:
        parts["content"] = _bm25(corpus, terms, term_parts)
        parts["path"] = _path_score(corpus, terms)
    mentioned = set()
    if n:
        parts["defines"], mentioned = _defines_score(corpus, query, set(clues.code))
    literal_hits = _literal_hits(corpus, root, query, clues.messages) if n else {}
    for lit, docs in literal_hits.items():
        parts["literal"][docs] += math.log(1 + n / len(docs))
    lexical = np.zeros(n)
    for name, weight in WEIGHTS.items():
        top = parts[name].max() if n else 0
        if top > 0:
            lexical += weight * parts[name] / top
    if n == 0:
        return Scores(lexical, parts, lexical, term_parts, mentioned, literal_hits)
    notes: dict[int, list[str]] = {}
    named_tests = _direct_evidence(corpus, clues, parts, notes)
    for name, weight in EVIDENCE.items():
        lexical += weight * parts[name]
    lexical[~corpus.is_code] *= NON_CODE
    demoted = corpus.is_test & ~named_tests
    lexical[demoted] *= TEST_FILES
    lexical[corpus.is_peripheral & ~named_tests] *= PERIPHERAL
    graph = corpus.graph.pagerank(lexical**2 if lexical.any() else None)
    graph_norm = graph / graph.max() if graph.max() > 0 else graph
    final = lexical + GRAPH_WEIGHT * graph_norm if lexical.any() else graph_norm
    return Scores(final, parts, graph, term_parts, mentioned, literal_hits, notes, demoted)


def _direct_evidence(corpus: Corpus, clues: Clues, parts: dict[str, np.ndarray], notes: dict[int, list[str]]) -> np.ndarray:
    """Fill the direct-evidence parts; returns the test files the report names."""
    parts["trace"] = trace_signal(corpus, clues, notes)
    parts["module"] = module_signal(corpus, clues, notes)
    parts["member"] = member_signal(corpus, clues, notes)
    parts["test"], named = test_signal(corpus, clues, notes)
    parts["setting"] = setting_signal(corpus, clues, notes)
    return named


def _bm25(corpus: Corpus, terms: list[str], term_parts: dict) -> np.ndarray:
    n = len(corpus)
    scores = np.zeros(n)
    avg = corpus.doc_len.mean() or 1.0
    for term in terms:
        docs, tf = corpus.term_hits(term)
        if not len(docs):
            continue
        idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
        part = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * corpus.doc_len[docs] / avg))
        np.add.at(scores, docs, part)
        term_parts[term] = (docs, part)
    return scores


def _path_score(corpus: Corpus, terms: list[str]) -> np.ndarray:
    n = len(corpus)
    scores = np.zeros(n)
    for term in terms:
        docs, in_name = corpus.path_hits(term)
        if len(docs):
            scores[docs] += math.log(1 + n / len(docs)) * np.where(in_name, 1.0, 0.5)
    return scores


def _defines_score(corpus: Corpus, query: str, code: set[str]) -> tuple[np.ndarray, set[str]]:
    """Files defining the identifiers the instruction names; code-like names weigh more."""
    scores = np.zeros(len(corpus))
    mentioned: set[str] = set()
    graph = corpus.graph
    for word in dict.fromkeys(IDENT.findall(query)):
        lower = word.lower()
        if lower in STOPWORDS or len(word) < 3:
            continue
        variants = dict.fromkeys((word, lower, word[0].upper() + word[1:], word.upper()))
        docs = np.unique(np.concatenate([graph.definers(v) for v in variants]))
        if not len(docs):
            continue
        mentioned.add(lower)
        code_like = word in code or "_" in word.strip("_") or (any(c.isupper() for c in word[1:]) and any(c.islower() for c in word))
        weight = (1.0 if code_like else 0.35) * math.log(1 + len(corpus) / len(docs))
        scores[docs] += weight
    return scores, mentioned


def literals(query: str) -> list[str]:
    """Quoted strings, backticked spans and --flags in an instruction, in order."""
    found: list[str] = []
    for m in LITERAL_RE.finditer(query):
        text = next(g for g in m.groups() if g is not None).strip()
        if text and text not in found:
            found.append(text)
    for m in FLAG_RE.finditer(query):
        if len(m.group(1)) > 3 and m.group(1) not in found:
            found.append(m.group(1))
    return found[:MAX_LITERALS]


def _fragments(literal: str) -> list[str]:
    """Fallbacks for a literal that matched nothing: its longest runs of plain words
    (an error message quoted with values filled in, the source has placeholders)."""
    runs = re.split(r"""['"`%{}()\[\]<>]|\d+|\s{2,}""", literal)
    runs = [r.strip(" .,:;") for r in runs]
    runs = [r for r in runs if len(r) >= 12 and len(r.split()) >= 2]
    return sorted(runs, key=len, reverse=True)[:2]


def _literal_hits(corpus: Corpus, root: Path, query: str, messages: list[str]) -> dict[str, list[int]]:
    hits: dict[str, list[int]] = {}
    for literal in list(dict.fromkeys(literals(query) + messages))[: MAX_LITERALS + 2]:
        docs = _grep(corpus, root, literal)
        if not docs:
            for fragment in _fragments(literal):
                docs = _grep(corpus, root, fragment)
                if docs:
                    literal = fragment
                    break
        if docs:
            hits[literal] = docs
    return hits


def _grep(corpus: Corpus, root: Path, literal: str) -> list[int]:
    """Indexed files containing `literal` (case-insensitive), via git grep."""
    base = ["git", "-c", "core.quotepath=off", "grep", "-l", "-z", "-I", "-F", "-i"]
    try:
        done = subprocess.run([*base, "--untracked", "-e", literal], cwd=root, capture_output=True, timeout=20)
        if done.returncode == 128:  # not a git repo: search the folder
            done = subprocess.run([*base, "--no-index", "-e", literal], cwd=root, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    paths = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    return sorted({corpus.position[p] for p in paths if p in corpus.position})


def best_first(final: np.ndarray) -> np.ndarray:
    """Document order by score, ties by path (the corpus is sorted by path)."""
    return np.argsort(-np.round(final, 9), kind="stable")


def ranked(corpus: Corpus, scores: Scores, top_k: int) -> list[RankedFile]:
    out = []
    for i in best_first(scores.final)[:top_k].tolist():
        if scores.final[i] <= 0:
            break
        role = "test" if corpus.is_test[i] else "source"
        out.append(RankedFile(corpus.paths[i], round(float(scores.final[i]), 4), _reasons(corpus, scores, i), role))
    return out


def _reasons(corpus: Corpus, scores: Scores, i: int) -> list[str]:
    reasons = list(scores.notes.get(i, ()))
    contrib = []
    for term, (docs, part) in scores.terms.items():
        where = np.nonzero(docs == i)[0]
        if len(where):
            contrib.append((-float(part[where].sum()), term))
    if contrib:
        reasons.append("terms: " + ", ".join(t for _, t in sorted(contrib)[:5]))
    names = [n for n in corpus.records[i][DEFNAMES].split() if n.lower() in scores.mentioned]
    if names:
        reasons.append("defines " + ", ".join(dict.fromkeys(names)))
    for literal, docs in scores.literal_hits.items():
        if i in docs:
            reasons.append(f"contains {literal!r}")
    if scores.parts["path"][i] > 0:
        reasons.append("path matches")
    if len(corpus) and corpus.graph.in_refs[i]:
        uses = int(corpus.graph.in_refs[i])
        reasons.append(f"used from {uses} place{'' if uses == 1 else 's'}")
    return list(dict.fromkeys(reasons))

