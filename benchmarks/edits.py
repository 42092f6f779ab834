"""Edit-engine benchmark: real changes to real Django source files, written the way
models write them, applied through EditEngine in every format and with the
perturbations models make. Prints, per format and perturbation: applied correctly,
refused, applied wrongly (target: 0), and edits per second.

    pip download --no-deps --no-binary :all: django==5.2.8 -d benchmarks/.data
    tar xzf benchmarks/.data/django-5.2.8.tar.gz -C benchmarks/.data
    python benchmarks/edits.py [--edits 1000] [--seed 7] [--no-validate]

Each edit replaces 1-3 lines of a random Django module (append a comment, rename an
identifier, insert a statement, delete a line, rewrite two lines) such that the file
still parses; the "model" includes 1-4 random lines of context. Perturbations:
re-indented (dedented or indented as a block), trailing spaces, CRLF model text, CRLF
file, elided middle (`...` for unchanged context), typo in a context line, wrong hunk
line numbers and counts (unified only). "Applied correctly" means the file's bytes equal
exactly the intended result; "applied wrongly" means the engine reported success with
any other bytes. The baseline in the same run is a plain exact-match engine (parse,
then replace `old` if it occurs exactly once).
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from codeagent.edits import Edit, EditEngine, EditFormatError, parse_edits
from codeagent.edits.validate import problems
from sdists import unpacked

DATA = unpacked("django", "5.2.8") / "django"
WRONG_LOG = DATA.parent.parent / "edits-wrong.txt"
FORMATS = ("edit_file", "search-replace", "unified", "patch")
PERTURBATIONS = ("none", "reindented", "trailing-spaces", "crlf-text", "crlf-file", "elided-middle",
                 "typo-in-context", "wrong-line-numbers")
IDENT = re.compile(r"\b[a-z_][a-z0-9_]{2,}\b")


@dataclass
class Case:
    """One intended change: file lines [start, end) become `new_lines`."""

    rel: str
    lines: list[str]  # the file's lines, without newlines
    start: int
    end: int
    new_lines: list[str]
    before: int  # context lines the "model" includes before and after
    after: int

    def expected(self) -> str:
        out = self.lines[: self.start] + self.new_lines + self.lines[self.end :]
        return "".join(line + "\n" for line in out)


def source_files(limit_bytes: int = 120_000) -> list[Path]:
    return sorted(p for p in DATA.rglob("*.py") if 2_000 < p.stat().st_size < limit_bytes)


def mutate(lines: list[str], rng: random.Random) -> tuple[int, int, list[str]] | None:
    """A random small change at a random non-blank line, or None."""
    i = rng.randrange(len(lines))
    line = lines[i]
    if not line.strip() or line.strip().startswith(("#", '"', "'")):
        return None
    indent = line[: len(line) - len(line.lstrip())]
    kind = rng.choice(("comment", "rename", "insert", "delete", "rewrite2"))
    if kind == "comment":
        return i, i + 1, [line + f"  # bench {i}"]
    if kind == "rename":
        names = IDENT.findall(line)
        if not names:
            return None
        name = rng.choice(names)
        return i, i + 1, [re.sub(rf"\b{name}\b", name + "_b", line, count=1)]
    if kind == "insert":
        if line.rstrip().endswith((":", ",", "(", "[", "{", "\\")):
            return None
        return i + 1, i + 1, [indent + f"_bench_{i} = {i}"]
    if kind == "delete":
        return i, i + 1, []
    if i + 1 < len(lines) and lines[i + 1].strip():
        return i, i + 2, [lines[i + 1], line + "  # moved"]
    return None


def make_cases(count: int, rng: random.Random) -> list[Case]:
    files = source_files()
    cases: list[Case] = []
    while len(cases) < count:
        path = rng.choice(files)
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")[:-1] if text.endswith("\n") else None
        change = mutate(lines, rng) if lines else None
        if not change:
            continue
        start, end, new_lines = change
        case = Case(path.relative_to(DATA.parent).as_posix(), lines, start, end, new_lines,
                    rng.randint(1, 4), rng.randint(1, 4))
        if problems(case.rel, case.expected()):
            continue  # the intended result must parse
        cases.append(case)
    return cases


# -- the "model": old/new blocks and format text, perturbed ---------------------------


def blocks(case: Case, perturbation: str, rng: random.Random) -> tuple[list[str], list[str], int, int]:
    """(old lines, new lines, first line index, context before) as the model writes them."""
    before = max(case.before, 5) if perturbation == "elided-middle" else case.before
    first = max(0, case.start - before)
    while perturbation == "elided-middle" and first > 0 and not case.lines[first].strip():
        first -= 1  # a model starts an elided block at a real line
    ctx_before = case.lines[first : case.start]
    ctx_after = case.lines[case.end : case.end + case.after]
    old = ctx_before + case.lines[case.start : case.end] + ctx_after
    new = ctx_before + case.new_lines + ctx_after
    if perturbation == "elided-middle" and len(ctx_before) >= 4:
        marker = rng.choice(("...", "# ...", "# ... existing code ..."))
        indent = ctx_before[1][: len(ctx_before[1]) - len(ctx_before[1].lstrip())]
        elided = [ctx_before[0], indent + marker]
        old = elided + old[len(ctx_before) - 1 :]
        new = elided + new[len(ctx_before) - 1 :]
    if perturbation == "reindented":
        old, new = _shift(old, new, rng)
    if perturbation == "typo-in-context":
        old, new = _typo(old, new, len(ctx_before), rng)
    if perturbation == "trailing-spaces":
        marked = {k for k in range(len(old)) if rng.random() < 0.5}
        old = [line + "  " if k in marked else line for k, line in enumerate(old)]
        new = [line + "  " if line.rstrip() and rng.random() < 0.5 else line for line in new]
    return old, new, first, len(ctx_before)


def _typo(old: list[str], new: list[str], ctx: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Drop one character from one long context line, in old and new alike (a misremembered line)."""
    shared = [k for k in range(min(ctx, len(old))) if len(old[k].strip()) >= 12]
    shared += [len(old) - 1 - k for k in range(len(old) - ctx) if old[len(old) - 1 - k] == new[len(new) - 1 - k]
               and len(old[len(old) - 1 - k].strip()) >= 12][:4]
    if not shared:
        return old, new
    k = rng.choice(shared)
    line = old[k]
    cut = rng.randrange(len(line) - len(line.lstrip()), len(line))
    typo = line[:cut] + line[cut + 1 :]
    new_k = k if k < ctx else len(new) - (len(old) - k)
    return old[:k] + [typo] + old[k + 1 :], new[:new_k] + [typo] + new[new_k + 1 :]


def _shift(old: list[str], new: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Move both blocks by one uniform amount: dedent fully, or indent by 4 more spaces."""
    heads = [line[: len(line) - len(line.lstrip())] for line in old if line.strip()]
    base = min(heads, key=len) if heads else ""
    if base and rng.random() < 0.6:
        move = lambda line: line[len(base) :] if line.startswith(base) else line  # noqa: E731
    else:
        move = lambda line: "    " + line if line.strip() else line  # noqa: E731
    return [move(line) for line in old], [move(line) for line in new]


def render(case: Case, fmt: str, perturbation: str, rng: random.Random) -> str | Edit:
    old, new, first, _ = blocks(case, perturbation, rng)
    if fmt == "edit_file":
        text = Edit(case.rel, "replace", _join(old), _join(new), source="edit_file")
    elif fmt == "search-replace":
        text = f"{case.rel}\n```python\n<<<<<<< SEARCH\n{_join(old)}=======\n{_join(new)}>>>>>>> REPLACE\n```\n"
    else:
        body = _hunk_body(old, new)
        if fmt == "unified":
            a, b = first + 1, first + 1
            if perturbation == "wrong-line-numbers":
                a, b = max(1, a + rng.choice((-1, 1)) * rng.randint(3, 60)), max(1, b + rng.randint(-60, 60))
            header = f"@@ -{a},{len(old) + (perturbation == 'wrong-line-numbers')} +{b},{len(new)} @@"
            text = f"--- a/{case.rel}\n+++ b/{case.rel}\n{header}\n{body}"
        else:
            anchor = _anchor(case) if rng.random() < 0.5 else ""
            text = f"*** Begin Patch\n*** Update File: {case.rel}\n@@ {anchor}\n{body}*** End Patch\n"
    if perturbation == "crlf-text":
        if isinstance(text, Edit):
            text.old, text.new = text.old.replace("\n", "\r\n"), text.new.replace("\n", "\r\n")
        else:
            text = text.replace("\n", "\r\n")
    return text


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _hunk_body(old: list[str], new: list[str]) -> str:
    """Context, removed and added lines: the shared head and tail are context."""
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    out = [" " + line for line in old[:head]]
    out += ["-" + line for line in old[head : len(old) - tail]]
    out += ["+" + line for line in new[head : len(new) - tail]]
    out += [" " + line for line in old[len(old) - tail :]]
    return "".join(line + "\n" for line in out)


def _anchor(case: Case) -> str:
    """The nearest def/class line above the change, as models put after @@."""
    for k in range(case.start - 1, -1, -1):
        if case.lines[k].lstrip().startswith(("def ", "class ", "async def ")):
            return case.lines[k].strip()
    return ""


# -- running ----------------------------------------------------------------------------


@dataclass
class Tally:
    counts: dict = None  # (format, perturbation) -> Counter of correct / refused / wrong (+ base-*)
    layers: Counter = None
    wall: float = 0.0
    cpu: float = 0.0
    base_cpu: float = 0.0

    def __post_init__(self):
        self.counts, self.layers, self.wrong = defaultdict(Counter), Counter(), []


def run(cases: list[Case], validate: bool, seed: int, workdir: str | None = None) -> Tally:
    rng = random.Random(seed + 1)
    tally = Tally()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        engine = EditEngine(root, validate_syntax=validate, durable=False)
        for case in cases:
            (root / case.rel).parent.mkdir(parents=True, exist_ok=True)
            for fmt in FORMATS:
                for perturbation in PERTURBATIONS:
                    if perturbation != "wrong-line-numbers" or fmt == "unified":
                        one(engine, root, case, fmt, perturbation, rng, tally)
    return tally


def one(engine: EditEngine, root: Path, case: Case, fmt: str, perturbation: str, rng, tally: Tally) -> None:
    """Apply one rendering with the engine and with the exact-only baseline; tally both."""
    target = root / case.rel
    crlf = perturbation == "crlf-file"
    original = "".join(line + "\n" for line in case.lines)
    data = original.replace("\n", "\r\n") if crlf else original
    expected = case.expected().replace("\n", "\r\n") if crlf else case.expected()
    target.write_bytes(data.encode())
    edit = render(case, fmt, perturbation, rng)
    began, began_cpu = time.perf_counter(), time.process_time()
    report = engine.apply([edit]) if isinstance(edit, Edit) else engine.apply_text(edit)
    tally.wall += time.perf_counter() - began
    tally.cpu += time.process_time() - began_cpu
    got = target.read_bytes().decode()
    if report.ok and got == expected:
        outcome = "correct"
        tally.layers[report.results[0].layer] += 1
    elif not report.ok and got == data:
        outcome = "refused"
    else:
        outcome = "wrong"
        tally.wrong.append(_explain_wrong(case, fmt, perturbation, edit, report, expected, got))
    began_cpu = time.process_time()
    base = baseline(data, edit)
    tally.base_cpu += time.process_time() - began_cpu
    base_outcome = "refused" if base is None else "correct" if base == expected else "wrong"
    tally.counts[(fmt, perturbation)].update([outcome, "base-" + base_outcome])


def baseline(text: str, edit: str | Edit) -> str | None:
    """What a plain exact-match engine does: parse, then replace `old` only if it occurs once."""
    try:
        edits = [edit] if isinstance(edit, Edit) else parse_edits(edit)
    except EditFormatError:
        return None
    for one_edit in edits:
        if one_edit.op != "replace" or not one_edit.old or text.count(one_edit.old) != 1:
            return None
        text = text.replace(one_edit.old, one_edit.new)
    return text if edits else None


def _explain_wrong(case, fmt, perturbation, edit, report, expected, got) -> str:
    shown = edit if isinstance(edit, str) else f"old:\n{edit.old}new:\n{edit.new}"
    diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True), "expected", "got"))
    return f"== {fmt}/{perturbation} {case.rel}:{case.start + 1}\n{shown}\n{report.describe()}\n{diff}"


def report_figures(tally: Tally, n_cases: int) -> None:
    total = Counter()
    for counts in tally.counts.values():
        total.update(counts)
    n_all = total["correct"] + total["refused"] + total["wrong"]
    print(f"edits: {n_cases} real changes to Django 5.2.8 sources, {n_all} applications "
          f"({len(FORMATS)} formats x perturbations)")
    print(f"{'format':<15} {'perturbation':<19} {'correct':>8} {'refused':>8} {'wrong':>6}   "
          f"{'baseline: correct':>17} {'wrong':>6}")
    order = lambda kv: (FORMATS.index(kv[0][0]), PERTURBATIONS.index(kv[0][1]))  # noqa: E731
    for (fmt, pert), counts in sorted(tally.counts.items(), key=order):
        _row(fmt, pert, counts)
    _row("all", "", total)
    print("matching layers used: " + ", ".join(f"{k} {v}" for k, v in tally.layers.most_common()))
    print(f"applied wrongly: {total['wrong']} ({total['wrong'] / n_all:.2%}); target 0")
    print(f"baseline = parse + exact match only, replace if unique (no layers, no validation): "
          f"{total['base-correct'] / n_all:.1%} correct, {total['base-wrong']} wrong")
    print(f"throughput: {n_all / tally.cpu:,.0f} edits/s of CPU time ({tally.cpu * 1000 / n_all:.2f} ms per edit: "
          f"parse + match + validate + atomic write), {n_all / tally.wall:,.0f} edits/s wall clock; "
          f"baseline {n_all / tally.base_cpu:,.0f} edits/s in memory (the engine costs {tally.cpu / tally.base_cpu:.0f}x "
          "its CPU time)")
    WRONG_LOG.unlink(missing_ok=True)
    if tally.wrong:
        WRONG_LOG.write_text("\n\n".join(tally.wrong))
        print(f"details of every wrong application: {WRONG_LOG}")


def _row(fmt: str, pert: str, counts: Counter) -> None:
    n = counts["correct"] + counts["refused"] + counts["wrong"]
    print(f"{fmt:<15} {pert:<19} {counts['correct'] / n:>8.1%} {counts['refused'] / n:>8.1%} {counts['wrong']:>6}   "
          f"{counts['base-correct'] / n:>17.1%} {counts['base-wrong']:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-validate", action="store_true", help="skip tree-sitter validation")
    parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where the scratch workspace lives (default: /dev/shm, to time the engine, not the disk)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = make_cases(args.edits, rng)
    print(f"scratch workspace under {args.dir or tempfile.gettempdir()}")
    tally = run(cases, validate=not args.no_validate, seed=args.seed, workdir=args.dir)
    report_figures(tally, len(cases))


if __name__ == "__main__":
    main()
