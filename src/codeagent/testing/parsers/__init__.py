"""Parsers turn one runner's machine-readable report (or, as a fallback, its
output) into `TestCase`s plus collection errors. Each returns a `Parsed`."""

from __future__ import annotations

from dataclasses import dataclass, field

from codeagent.testing.report import TestCase

OUTPUT_CAP = 6_000  # characters of failure detail kept per test case


@dataclass
class Parsed:
    tests: list[TestCase] = field(default_factory=list)
    collection_errors: list[str] = field(default_factory=list)
    structured: bool = False  # came from a report file, not output sniffing


def clip(text: str, cap: int = OUTPUT_CAP) -> str:
    """Keep the head and tail of `text` within `cap` characters."""
    if len(text) <= cap:
        return text
    half = cap // 2
    return text[:half] + f"\n[... {len(text) - 2 * half} chars dropped ...]\n" + text[-half:]


def first_line(text: str, cap: int = 500) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:cap]
    return ""
