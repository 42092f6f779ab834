"""Turns one file's bytes into its index record: tree-sitter definitions (with the
header lines the repo map shows) and references, plus lexical terms for BM25.

A record is a plain tuple of strings and bytes, cheap to load in bulk:

    (lang, defnames, refnames, refcounts, terms, length, defs, skipped)

    defnames:  "Name other_name ..."       names this file defines (for the graph)
    refnames:  "name other ..."            identifiers used here (calls, types, imports, ...)
    refcounts: "2 1 ..."                   how often each refname is used
    terms:    " term:count term:count "    lexical terms of the content (see text.py)
    length:   int                          document length in terms
    defs:     marshal bytes of [(name, kind, line, end_line, parent_index, header), ...]
              (0-based lines; decoded only for files the repo map shows)
    skipped:  ""                           or why the content was not indexed ("binary")

Records depend only on the bytes and the language, never on the path.
"""

from __future__ import annotations

import marshal
import re
from bisect import bisect_left
from collections import Counter
from operator import attrgetter

import tree_sitter as ts

from codeagent.context.languages import SCOPE_ONLY_KINDS, grammar, language_for
from codeagent.context.text import content_terms

Record = tuple
LANG, DEFNAMES, REFNAMES, REFCOUNTS, TERMS, LENGTH, DEFS, SKIPPED = range(8)
RECORD_FIELDS = 8
HEADER_LINES = 3
HEADER_WIDTH = 200
BINARY_SNIFF = 8192
_TEXT = attrgetter("text")

# Suffixes never worth reading: binary by nature, or data that drowns lexical
# matches (translation catalogs repeat every message string once per locale).
SKIP_SUFFIXES = frozenset(
    """.png .jpg .jpeg .gif .bmp .ico .webp .tif .tiff .psd .pdf .zip .gz .tgz .bz2 .xz
    .7z .tar .jar .war .whl .egg .so .dll .dylib .a .o .obj .exe .bin .class .pyc .pyo
    .mo .po .pot .woff .woff2 .ttf .otf .eot .mp3 .mp4 .wav .ogg .mov .avi .sqlite
    .db .dbf .shp .shx .mmdb .npy .npz .pkl .parquet .lock .map .svg""".split()
)
SKIP_NAMES = frozenset({"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock"})


def skip_by_name(path: str) -> bool:
    """True for files whose name alone says they are binary or generated data."""
    name = path.rsplit("/", 1)[-1]
    if name in SKIP_NAMES or name.endswith((".min.js", ".min.css")):
        return True
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SKIP_SUFFIXES


def skipped_record(reason: str) -> Record:
    return ("", "", "", "", " ", 0, b"", reason)


def extract(path: str, data: bytes) -> Record:
    """The index record of one file's content."""
    if b"\0" in data[:BINARY_SNIFF]:
        return skipped_record("binary")
    terms, length = content_terms(data)
    lang = language_for(path) or ""
    defs: list[tuple] = []
    refs: dict[str, int] = {}
    if lang:
        defs, refs = _tags(lang, data)
    names = dict.fromkeys(d[0] for d in defs if d[1] not in SCOPE_ONLY_KINDS and _plain(d[0]))
    refs = {k: v for k, v in refs.items() if _plain(k)}
    ref_counts = " ".join(map(str, refs.values()))
    return (lang, " ".join(names), " ".join(refs), ref_counts, terms, length, marshal.dumps(defs), "")


_UNPLAIN = re.compile(r"[\s:]")


def _plain(name: str) -> bool:
    """Names are stored space-separated: anything with whitespace or a colon is dropped."""
    return bool(name) and _UNPLAIN.search(name) is None


def _tags(lang: str, data: bytes) -> tuple[list[tuple], dict[str, int]]:
    g = grammar(lang)
    tree = g.parser.parse(data)
    caps = ts.QueryCursor(g.query).captures(tree.root_node)
    names = sorted(caps.get("name", ()), key=lambda n: n.start_byte)
    name_starts = [n.start_byte for n in names]
    raw: list[tuple] = []
    counts = Counter(map(_TEXT, caps.get("ref", ())))
    for key, nodes in caps.items():
        if not key.startswith("def."):
            continue
        kind = key[4:]
        for node in nodes:
            # the definition's name is the first captured name inside it
            i = bisect_left(name_starts, node.start_byte)
            if i < len(names) and name_starts[i] < node.end_byte:
                name_node = names[i]
                text = name_node.text
                if name_node.type == "type_identifier" and kind not in SCOPE_ONLY_KINDS and counts[text] > 0:
                    counts[text] -= 1  # a bare (type_identifier) @ref pattern caught the definition's own name
                raw.append((node.start_byte, -node.end_byte, text.decode("utf-8", "replace"), kind, node))
    refs = {k.decode("utf-8", "replace"): v for k, v in counts.items() if v > 0}
    return _defs_with_parents(raw, data), refs


def _defs_with_parents(raw: list[tuple], data: bytes) -> list[tuple]:
    raw.sort(key=lambda r: (r[0], r[1]))
    defs: list[tuple] = []
    stack: list[tuple[int, int]] = []  # (end_byte, index)
    seen: set[tuple[int, str]] = set()
    for start, neg_end, name, kind, node in raw:
        if (start, name) in seen:
            continue
        seen.add((start, name))
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent = stack[-1][1] if stack else -1
        row, end_row = node.start_point[0], node.end_point[0]
        defs.append((name, kind, row, end_row, parent, _header(node, data, row)))
        stack.append((-neg_end, len(defs) - 1))
    return defs


def _header(node: ts.Node, data: bytes, row: int) -> str:
    """The definition's first lines, up to where its body starts (at most 3)."""
    lines = 1
    body = node.child_by_field_name("body")
    if body is not None and body.start_point[0] > row:
        lines = min(body.start_point[0] - row, HEADER_LINES)
    begin = data.rfind(b"\n", 0, node.start_byte) + 1
    end = begin
    for _ in range(lines):
        end = data.find(b"\n", end) + 1 or len(data) + 1
    text = data[begin : end - 1].decode("utf-8", "replace").split("\n")
    return "\n".join(line[:HEADER_WIDTH].rstrip() for line in text)
