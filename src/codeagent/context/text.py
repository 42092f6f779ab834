"""Lexical terms shared by the index and the query: identifier splitting
(camelCase, snake_case, digits), lower-casing and a light suffix stemmer, so
`getUserNames`, `get_user_name` and "user names" meet on the same terms."""

from __future__ import annotations

import re
from collections import Counter
from itertools import chain, repeat
from operator import mul

IDENT_BYTES = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Words an instruction uses that say nothing about where code lives.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does doing done for from has have
    how i if in into is it its it's make makes me must my no not of on or our please
    should so such than that the their them then there these they this those to too
    use used using was we were what when where which while who why will with would you
    your add adds added change changes changed fix fixes fixed update updates updated
    instead also new now currently file files code function method class""".split()
)

_split_memo: dict[str, tuple[str, ...]] = {}


def stem(word: str) -> str:
    """A tiny, consistent suffix stripper (not linguistics: both sides agree)."""
    n = len(word)
    if n > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if n > 5 and word.endswith("ing"):
        return word[:-3]
    if n > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if n > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def split_identifier(ident: str) -> tuple[str, ...]:
    """Terms of one identifier: the whole (lower, stemmed) plus its parts."""
    found = _split_memo.get(ident)
    if found is None:
        found = _split(ident)
        if len(_split_memo) < 500_000:
            _split_memo[ident] = found
    return found


def _split(ident: str) -> tuple[str, ...]:
    whole = ident.strip("_").lower()
    if len(whole) < 2:
        return ()
    if ident.islower():  # snake_case or one word: no regex needed
        parts = [p for p in whole.split("_") if p]
    else:
        parts = [p.lower() for piece in ident.split("_") for p in _PARTS.findall(piece)]
    first = _stem(whole)
    if len(parts) < 2:
        return (first,)
    terms = [first]
    for part in parts:
        if len(part) >= 2 and not part.isdigit():
            term = _stem(part)
            if term not in terms:
                terms.append(term)
    return tuple(terms)


_stem_memo: dict[str, str] = {}


def _stem(word: str) -> str:
    found = _stem_memo.get(word)
    if found is None:
        found = stem(word)
        if len(_stem_memo) < 500_000:
            _stem_memo[word] = found
    return found


_prefix_memo: dict[bytes, tuple[str, ...]] = {}


_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TO_SPACES = bytes(c if c in _WORD_BYTES else 32 for c in range(256))


def _prefixes(token: bytes) -> tuple[str, ...]:
    word = token.decode("ascii").lstrip("0123456789")  # identifiers start with a letter or _
    found = tuple(term + ":" for term in _split(word)) if word else ()
    if len(_prefix_memo) < 500_000:
        _prefix_memo[token] = found
    return found


def content_terms(data: bytes) -> tuple[str, int]:
    """A file's lexical terms encoded as " term:count term:count ", and the document
    length in terms. A term may appear more than once (`Name` and `names` both give
    "name"); readers add the counts up. Built with C-level iterators only: this runs
    on every file of a cold build."""
    counts = Counter(data.translate(_TO_SPACES).split())
    memo_get = _prefix_memo.get
    splits = list(map(memo_get, counts))
    if None in splits:
        splits = [s if s is not None else _prefixes(t) for s, t in zip(splits, counts)]
    sizes = list(map(len, splits))
    numbers = chain.from_iterable(map(repeat, map(str, counts.values()), sizes))
    text = " ".join(map(str.__add__, chain.from_iterable(splits), numbers))
    return f" {text} ", sum(map(mul, counts.values(), sizes))


def path_terms(path: str) -> list[str]:
    """Terms of a repo-relative path: directories, stem and extension words."""
    return list(dict.fromkeys(t for word in IDENT.findall(path.replace("-", "_")) for t in split_identifier(word)))


def query_terms(text: str) -> list[str]:
    """Terms of an instruction, in first-seen order, without stopwords."""
    out: list[str] = []
    for word in IDENT.findall(text):
        if word.lower() in STOPWORDS:
            continue
        for term in split_identifier(word):
            if term not in out and term not in STOPWORDS:
                out.append(term)
    return out
