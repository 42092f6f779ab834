"""The repo map: signatures of the most relevant definitions, grouped by file
(most relevant file first), within a token budget.

A definition's weight is its file's score, raised when the instruction names it,
when rank flows into it along the file graph, and for top-level definitions. The
largest prefix of definitions (by weight) whose rendering fits the budget is
found by binary search. Methods show under their class's header line; `⋮` marks
lines left out.
"""

from __future__ import annotations

import marshal

import numpy as np

from codeagent.context.corpus import Corpus
from codeagent.context.rank import Scores, best_first
from codeagent.context.tags import DEFS
from codeagent.context.tokens import count_tokens

CANDIDATE_FILES = 80
GAP = "⋮"


def render_map(corpus: Corpus, scores: Scores, tokens: int) -> str:
    if tokens <= 0 or not len(corpus):
        return ""
    units = _units(corpus, scores)
    if not units:
        return ""
    # Estimate where the budget runs out from each unit's characters and the
    # tokens-per-character of a sample, then count exactly only near that point.
    sample = _render(corpus, scores, units[:200])
    per_char = count_tokens(sample) / max(len(sample), 1)
    lo = max(1, int(np.searchsorted(_cumulative_chars(corpus, units), tokens * 1.02 / per_char, side="right")))
    lo = min(lo, len(units))
    for size in range(lo, 0, -max(1, lo // 40)):
        text = _render(corpus, scores, units[:size])
        if count_tokens(text) <= tokens:
            return _grow(corpus, scores, units, size, tokens, text)
    return ""


def _cumulative_chars(corpus: Corpus, units: list[tuple[float, int, int]]) -> np.ndarray:
    """Characters the map has after each unit (headers, enclosing headers, file lines, gaps)."""
    seen_files: set[int] = set()
    seen_defs: set[tuple[int, int]] = set()
    costs = []
    for _, i, j in units:
        cost = 0
        if i not in seen_files:
            seen_files.add(i)
            cost += len(corpus.paths[i]) + 4
        defs = _defs(corpus, i) if j >= 0 else []
        while j >= 0 and (i, j) not in seen_defs:
            seen_defs.add((i, j))
            cost += len(defs[j][5]) + 3
            j = defs[j][4]
        costs.append(cost)
    return np.cumsum(costs)


def _grow(corpus: Corpus, scores: Scores, units: list, size: int, tokens: int, text: str) -> str:
    """Add units one at a time while the exact count still fits (a few steps at most)."""
    for bigger in range(size + 1, min(len(units), size + 8) + 1):
        candidate = _render(corpus, scores, units[:bigger])
        if count_tokens(candidate) > tokens:
            break
        text = candidate
    return text


def _units(corpus: Corpus, scores: Scores) -> list[tuple[float, int, int]]:
    """(weight, file, def index or -1 for a file without definitions), best first."""
    final = scores.final
    order = [i for i in best_first(final)[:CANDIDATE_FILES].tolist() if final[i] > 0]
    if not order:
        return []
    graph = corpus.graph
    flow = graph.incoming_by_name(scores.graph, np.array(order))
    symbols = graph.ids
    units: list[tuple[float, int, int]] = []
    for i in order:
        defs = _defs(corpus, i)
        if not defs:
            units.append((float(final[i]), i, -1))
            continue
        file_flow = {}
        for j, d in enumerate(defs):
            sid = symbols.get(d[0])
            file_flow[j] = flow.get((i, sid), 0.0) if sid is not None else 0.0
        top_flow = max(file_flow.values()) or 1.0
        for j, d in enumerate(defs):
            named = d[0].lower() in scores.mentioned
            weight = final[i] * (0.4 + 0.6 * file_flow[j] / top_flow + 2.0 * named + 0.3 * (d[4] < 0))
            units.append((float(weight), i, j))
    units.sort(key=lambda u: (-u[0], corpus.paths[u[1]], u[2]))
    return units


_defs_memo: dict[int, list[tuple]] = {}


def _defs(corpus: Corpus, i: int) -> list[tuple]:
    blob = corpus.records[i][DEFS]
    key = id(blob)
    found = _defs_memo.get(key)
    if found is None or found[0] is not blob:
        defs = marshal.loads(blob) if blob else []
        if len(_defs_memo) > 4096:
            _defs_memo.clear()
        _defs_memo[key] = found = (blob, defs)
    return found[1]


def _render(corpus: Corpus, scores: Scores, units: list[tuple[float, int, int]]) -> str:
    chosen: dict[int, set[int]] = {}
    for _, i, j in units:
        chosen.setdefault(i, set())
        if j >= 0:
            defs = _defs(corpus, i)
            while j >= 0 and j not in chosen[i]:  # a definition shows with its enclosing headers
                chosen[i].add(j)
                j = defs[j][4]
    files = sorted(chosen, key=lambda i: (-scores.final[i], corpus.paths[i]))
    out: list[str] = []
    for i in files:
        out.append(f"{corpus.paths[i]}:")
        defs = _defs(corpus, i)
        last_line = -1
        for j in sorted(chosen[i], key=lambda j: (defs[j][2], j)):
            header = defs[j][5]
            line = defs[j][2]
            if line > last_line + 1:
                out.append(GAP)
            out.append(header)
            last_line = line + header.count("\n")
        if chosen[i]:
            out.append(GAP)
    return "\n".join(out) + "\n"
