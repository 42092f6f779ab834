"""The file graph: an edge from file A to file B for every name A uses that B
defines, and PageRank over it (personalised to the files an instruction matches).

Built in one vectorised pass over all records (tens of milliseconds for Django),
so it is simply rebuilt whenever the index changes. A name defined in many files
says little about which one is meant: its weight is split between its definers,
and names with more than MAX_DEFINERS are dropped. Private (`_x`) and very short
names count a tenth.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

from codeagent.context.tags import DEFNAMES, REFCOUNTS, REFNAMES

MAX_DEFINERS = 40
DAMPING = 0.85
ITERATIONS = 40
TOLERANCE = 1e-7


def _per_file(records: list[tuple], field: int) -> tuple[list[str], np.ndarray]:
    """All space-separated items of one record field, and which file each came from."""
    texts = [r[field] for r in records]
    items = " ".join(texts).split()
    sizes = np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), np.int64, len(texts))
    return items, np.repeat(np.arange(len(texts), dtype=np.int64), sizes)


class FileGraph:
    """Edges between the files of one Corpus, and ranking over them."""

    def __init__(self, records: list[tuple]):
        self.n = n = len(records)
        def_names, def_file = _per_file(records, DEFNAMES)
        ref_names, ref_file = _per_file(records, REFNAMES)
        counts_text = " ".join(r[REFCOUNTS] for r in records)
        ref_cnt = np.fromiter(map(int, counts_text.split()), np.float64, len(ref_names))
        self.names = list(dict.fromkeys(def_names))  # symbol id -> name (defined names only)
        self.ids = {name: i for i, name in enumerate(self.names)}
        nsym = len(self.names)
        def_sym = np.fromiter(map(self.ids.__getitem__, def_names), np.int64, len(def_names))
        ref_sym = np.fromiter(map(self.ids.get, ref_names, repeat(-1)), np.int64, len(ref_names))
        known = ref_sym >= 0
        ref_file, ref_sym, ref_cnt = ref_file[known], ref_sym[known], ref_cnt[known]
        self.ndef = np.bincount(def_sym, minlength=nsym)
        order = np.argsort(def_sym, kind="stable")
        self.def_file_sorted = def_file[order]
        self.def_start = np.concatenate(([0], np.cumsum(self.ndef)))[:-1].astype(np.int64)
        short = np.fromiter(map(len, self.names), np.int64, nsym) < 3
        private = np.fromiter(map(str.startswith, self.names, repeat("_")), bool, nsym)
        weights = np.where(short | private, 0.1, 1.0)
        self._edges(ref_file, ref_sym, ref_cnt, weights)
        self.in_refs = np.bincount(self.dst, minlength=n)

    def _edges(self, ref_file: np.ndarray, ref_sym: np.ndarray, ref_cnt: np.ndarray, name_weight: np.ndarray) -> None:
        nd = self.ndef[ref_sym]
        keep = nd <= MAX_DEFINERS
        ref_file, ref_sym, ref_cnt, nd = ref_file[keep], ref_sym[keep], ref_cnt[keep], nd[keep]
        total = int(nd.sum())
        src = np.repeat(ref_file, nd)
        sym = np.repeat(ref_sym, nd)
        offset = np.arange(total) - np.repeat(np.cumsum(nd) - nd, nd)
        dst = self.def_file_sorted[np.repeat(self.def_start[ref_sym], nd) + offset]
        weight = np.repeat(np.sqrt(ref_cnt) / np.maximum(nd, 1), nd) * name_weight[sym]
        keep = src != dst
        self.src, self.dst, self.sym, self.weight = src[keep], dst[keep], sym[keep], weight[keep]
        self.out_weight = np.bincount(self.src, weights=self.weight, minlength=self.n)

    def definers(self, name: str) -> np.ndarray:
        """Files defining exactly `name`."""
        sid = self.ids.get(name)
        if sid is None:
            return np.zeros(0, np.int64)
        start = self.def_start[sid]
        return np.unique(self.def_file_sorted[start : start + self.ndef[sid]])

    def pagerank(self, personal: np.ndarray | None = None) -> np.ndarray:
        """Stationary distribution with restarts to `personal` (uniform when None)."""
        n = self.n
        if n == 0:
            return np.zeros(0)
        p = np.full(n, 1.0 / n) if personal is None or personal.sum() <= 0 else personal / personal.sum()
        share = self.weight / self.out_weight[self.src] if len(self.weight) else np.zeros(0)
        dangling = self.out_weight == 0
        rank = p.copy()
        for _ in range(ITERATIONS):
            flow = np.bincount(self.dst, weights=rank[self.src] * share, minlength=n)
            new = DAMPING * (flow + rank[dangling].sum() * p) + (1 - DAMPING) * p
            done = np.abs(new - rank).sum() < TOLERANCE
            rank = new
            if done:
                break
        return rank

    def incoming_by_name(self, rank: np.ndarray, files: np.ndarray) -> dict[tuple[int, int], float]:
        """(file, symbol id) -> rank flowing into that definition, for the given files."""
        if not len(self.weight):
            return {}
        mask = np.isin(self.dst, files)
        src = self.src[mask]
        flow = rank[src] * self.weight[mask] / self.out_weight[src]
        keys, where = np.unique(self.dst[mask] * len(self.names) + self.sym[mask], return_inverse=True)
        totals = np.bincount(where, weights=flow, minlength=len(keys))
        nsym = max(len(self.names), 1)
        return {(int(k // nsym), int(k % nsym)): float(v) for k, v in zip(keys.tolist(), totals.tolist())}
