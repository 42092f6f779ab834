"""The file graph: an edge from file A to file B for every name A uses that B
defines, and PageRank over it (personalised to the files an instruction matches).

The first build is one vectorised pass over all records; it leaves per-file symbol
arrays in a `SymbolTable` (append-only names), so a rebuild after a few files
changed only reads those files and concatenates the rest. A name defined in many
files says little about which one is meant: its weight is split between its
definers, and names with more than MAX_DEFINERS are dropped. Private (`_x`) and
very short names count a tenth.
"""

from __future__ import annotations

from itertools import chain, repeat

import numpy as np

from codeagent.context.tags import DEFNAMES, REFCOUNTS, REFNAMES

MAX_DEFINERS = 40
DAMPING = 0.85
ITERATIONS = 40
TOLERANCE = 1e-7

FileArrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # defined ids, used ids, use counts


class SymbolTable:
    """Name <-> id for one engine's life (ids are never reused), and per-file arrays."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []
        self.files: dict[int, tuple[tuple, FileArrays]] = {}  # id(record) -> (record, arrays)

    def add(self, names: list[str]) -> None:
        new = [n for n in dict.fromkeys(names) if n not in self.ids]
        self.ids.update(zip(new, range(len(self.names), len(self.names) + len(new))))
        self.names.extend(new)

    def weights(self) -> np.ndarray:
        count = len(self.names)
        short = np.fromiter(map(len, self.names), np.int64, count) < 3
        private = np.fromiter(map(str.startswith, self.names, repeat("_")), bool, count)
        return np.where(short | private, 0.1, 1.0)

    def arrays(self, records: list[tuple]) -> list[FileArrays]:
        """Per-file arrays, computed for records not seen before (all of them at first)."""
        missing = [r for r in records if self.files.get(id(r), (None,))[0] is not r]
        if missing:
            self._compute(missing)
        keep = {id(r) for r in records}
        for key in [k for k in self.files if k not in keep]:
            del self.files[key]
        return [self.files[id(r)][1] for r in records]

    def _compute(self, records: list[tuple]) -> None:
        if len(records) > 64:
            self._compute_bulk(records)
            return
        defs = [r[DEFNAMES].split() for r in records]
        refs = [r[REFNAMES].split() for r in records]
        self.add(list(chain(chain.from_iterable(defs), chain.from_iterable(refs))))
        get = self.ids.__getitem__
        for record, d, u in zip(records, defs, refs):
            counts = np.fromiter(map(int, record[REFCOUNTS].split()), np.float64, len(u))
            arrays = (np.fromiter(map(get, d), np.int64, len(d)), np.fromiter(map(get, u), np.int64, len(u)), counts)
            self.files[id(record)] = (record, arrays)


    def _compute_bulk(self, records: list[tuple]) -> None:
        """The same arrays for many records at once: one split per field, then views."""
        def_names, def_sizes = _items(records, DEFNAMES)
        ref_names, ref_sizes = _items(records, REFNAMES)
        self.add(def_names + ref_names)
        get = self.ids.__getitem__
        def_ids = np.fromiter(map(get, def_names), np.int64, len(def_names))
        ref_ids = np.fromiter(map(get, ref_names), np.int64, len(ref_names))
        counts = " ".join(r[REFCOUNTS] for r in records).split()
        ref_cnt = np.fromiter(map(int, counts), np.float64, len(counts))
        d = np.concatenate(([0], np.cumsum(def_sizes))).tolist()
        u = np.concatenate(([0], np.cumsum(ref_sizes))).tolist()
        for i, record in enumerate(records):
            arrays = (def_ids[d[i] : d[i + 1]], ref_ids[u[i] : u[i + 1]], ref_cnt[u[i] : u[i + 1]])
            self.files[id(record)] = (record, arrays)


def _items(records: list[tuple], field: int) -> tuple[list[str], np.ndarray]:
    """All space-separated items of one record field, and how many each record has."""
    texts = [r[field] for r in records]
    sizes = np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), np.int64, len(texts))
    return " ".join(texts).split(), sizes


class FileGraph:
    """Edges between the files of one Corpus, and ranking over them."""

    def __init__(self, records: list[tuple], table: SymbolTable | None = None):
        self.n = n = len(records)
        table = table or SymbolTable()
        arrays = table.arrays(records)
        self.names, self.ids = table.names, table.ids
        nsym = len(self.names)
        sizes_def = np.fromiter((len(a[0]) for a in arrays), np.int64, n)
        sizes_ref = np.fromiter((len(a[1]) for a in arrays), np.int64, n)
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        def_sym = np.concatenate([a[0] for a in arrays] or [empty_i])
        ref_sym = np.concatenate([a[1] for a in arrays] or [empty_i])
        ref_cnt = np.concatenate([a[2] for a in arrays] or [empty_f])
        def_file = np.repeat(np.arange(n, dtype=np.int64), sizes_def)
        ref_file = np.repeat(np.arange(n, dtype=np.int64), sizes_ref)
        self.ndef = np.bincount(def_sym, minlength=nsym)
        order = np.argsort(def_sym, kind="stable")
        self.def_file_sorted = def_file[order]
        self.def_start = np.concatenate(([0], np.cumsum(self.ndef)))[:-1].astype(np.int64)
        self._edges(ref_file, ref_sym, ref_cnt, table.weights())
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
