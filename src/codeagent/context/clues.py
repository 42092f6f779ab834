"""What a bug report says about where the code lives, read the way a maintainer
reads it. Pure text in, `Clues` out (no repository needed), so each kind of clue
is easy to test on real snippets of issue text:

    trace     files (and lines) named in a traceback: `File "x/y.py", line 3, in f`,
              pytest's `x/y.py:3: in f`, and repo paths written in prose
    modules   dotted module paths from `import` lines and prose (`sympy.core.basic`),
              with the names imported from them
    qualified `Class.method` / `module.name` pairs
    messages  what an exception said (`ValueError: Invalid IPv6 URL`)
    tests     test names (`test_urlfield_clean`, `TestLocale`)
    settings  UPPER_CASE setting and constant names (`FILE_UPLOAD_PERMISSIONS`)
    code      identifiers that appear in code: in backticks, code blocks, `>>>`
              lines or called as `name(`
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TRACE_FILE = re.compile(r"""File "([^"\n]+?\.pyx?)", line (\d+)""")
PYTEST_LOC = re.compile(r"^\s*([\w./\\-]+\.pyx?):(\d+):", re.M)
PROSE_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w-]+\.(?:py|pyx|pyi|c|h|js|ts|rst|txt|cfg|toml|ini|json|ya?ml))\b")
IMPORT_FROM = re.compile(r"^[ \t>.]*from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?([\w \t,]+)", re.M)
IMPORT = re.compile(r"^[ \t>.]*import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)", re.M)
DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w])")
EXCEPTION = re.compile(r"^[ \t>E]*(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Warning|Exit))(?::[ \t]*(.+))?$", re.M)
TEST_NAME = re.compile(r"(?<![\w])(test_\w+|Test[A-Z]\w*)")
SETTING = re.compile(r"(?<![\w.])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w])")
BACKTICKS = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
PROMPT_LINE = re.compile(r"^[ \t]*(?:>>>|\.\.\.|In \[\d+\]:)[ \t]?(.*)$", re.M)
CALL = re.compile(r"(?<![\w])([A-Za-z_]\w*)\(")
IDENT = re.compile(r"[A-Za-z_]\w*")
# Dotted words that are not code: file names and abbreviations in prose.
NOT_CODE_TAIL = frozenset({"py", "txt", "rst", "md", "html", "cfg", "toml", "json", "yaml", "yml", "com", "org", "io", "g", "e"})
MAX_MESSAGE = 200
# Lines about the reporter's environment, not the code: the REPL banner, version dumps.
NOISE_LINE = re.compile(
    r"""^[ \t>]*(?:Python \d+\.\d+\S*(?: \(.*)?|\[(?:GCC|Clang|MSC)[^\]]*\].*|Type "help", "copyright".*|IPython \d.*)$""",
    re.M,
)


def without_noise(text: str) -> str:
    """The report minus lines that describe the reporter's environment."""
    return NOISE_LINE.sub("", text)


@dataclass
class TraceFrame:
    path: str  # as written (may be absolute, site-packages, Windows)
    line: int
    depth: int  # 0 = the frame nearest the error


@dataclass
class Clues:
    kind: str = "clues"
    trace: list[TraceFrame] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # repo paths written in prose
    modules: dict[str, list[str]] = field(default_factory=dict)  # dotted module -> names imported from it
    qualified: list[tuple[str, str]] = field(default_factory=list)  # (owner, member)
    messages: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)


def read_clues(text: str) -> Clues:
    clues = Clues()
    clues.trace = _trace(text)
    traced = {f.path for f in clues.trace}
    clues.paths = [p for p in dict.fromkeys(PROSE_PATH.findall(text)) if p not in traced and not p.startswith(("http", "www."))]
    clues.modules = _modules(text)
    clues.qualified = _qualified(text, clues.modules)
    clues.messages = _messages(text)
    clues.tests = list(dict.fromkeys(TEST_NAME.findall(text)))
    clues.settings = list(dict.fromkeys(SETTING.findall(text)))
    clues.code = _code_names(text)
    return clues


def _trace(text: str) -> list[TraceFrame]:
    found: list[tuple[int, str, int]] = []
    for m in TRACE_FILE.finditer(text):
        found.append((m.start(), m.group(1), int(m.group(2))))
    for m in PYTEST_LOC.finditer(text):
        found.append((m.start(1), m.group(1), int(m.group(2))))
    found.sort()
    frames: list[TraceFrame] = []
    for n, (_, path, line) in enumerate(reversed(found)):  # the last frame printed is nearest the error
        frames.append(TraceFrame(path.replace("\\", "/"), line, n))
    return frames


def _modules(text: str) -> dict[str, list[str]]:
    modules: dict[str, list[str]] = {}
    for m in IMPORT_FROM.finditer(text):
        module = m.group(1).strip(".")
        if not module:
            continue
        names = [n for n in re.split(r"[\s,]+", m.group(2)) if n and n != "as" and IDENT.fullmatch(n)]
        modules.setdefault(module, [])
        modules[module].extend(n for n in names if n not in modules[module])
    for m in IMPORT.finditer(text):
        for module in re.split(r"[ \t]*,[ \t]*", m.group(1)):
            modules.setdefault(module.strip(), [])
    for m in DOTTED.finditer(text):
        dotted = m.group(1)
        parts = dotted.split(".")
        if parts[-1].lower() in NOT_CODE_TAIL or len(parts) < 3 or not all(p.islower() or p.startswith("_") for p in parts[:2]):
            continue
        modules.setdefault(dotted, [])  # a.b.c.Name: resolved later to its longest module prefix
    return modules


def _qualified(text: str, modules: dict[str, list[str]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for m in DOTTED.finditer(text):
        parts = m.group(1).split(".")
        if parts[-1].lower() in NOT_CODE_TAIL:
            continue
        for owner, member in zip(parts, parts[1:]):
            if owner in ("self", "cls") or len(member) < 2:
                continue
            if (owner, member) not in pairs:
                pairs.append((owner, member))
    return pairs


def _messages(text: str) -> list[str]:
    found: list[str] = []
    for m in EXCEPTION.finditer(text):
        message = (m.group(2) or "").strip()
        if len(message) > 1 and message[0] == message[-1] and message[0] in "'\"":
            message = message[1:-1]
        if len(message) >= 8 and message not in found:
            found.append(message[:MAX_MESSAGE])
    return found


def _code_names(text: str) -> list[str]:
    spans = BACKTICKS.findall(text) + FENCE.findall(text) + PROMPT_LINE.findall(text)
    names = [n for span in spans for n in IDENT.findall(span)]
    names += CALL.findall(text)
    return [n for n in dict.fromkeys(names) if len(n) >= 3]
