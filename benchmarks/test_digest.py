"""Failure digest size versus raw test output size, on real failures in real projects.

    python benchmarks/test_digest.py

Copies the toolz and more-itertools sdists (fetched by tests/data/fetch_sdists.py),
breaks functions in them, runs the tests through `TestRunner` (unsandboxed backend)
and prints, per scenario: failing tests found; the characters the project's own test
command prints when run as is (what an exit-code-and-whole-output tool hands the
model: the baseline); the characters of codeagent's run output (with its reporting
options, e.g. pytest --tb=short); the characters of codeagent's digest; and the
ratio baseline / digest.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from fetch_sdists import fetch  # noqa: E402

from codeagent.sandbox import open_sandbox  # noqa: E402
from codeagent.testing import TestRunner, detect_test_command, digest  # noqa: E402

FREQUENCIES = ("toolz/itertoolz.py", "    return dict(d)\n", "    return dict((k, v + 1) for k, v in d.items())\n")
IDENTITY = ("toolz/functoolz.py", "def identity(x):\n", "def identity(x):\n    x = None\n")
IMPORT_ERROR = ("toolz/itertoolz.py", "import collections\n", "import collections\nimport no_such_module_xyz\n")
ILEN = ("more_itertools/more.py", "    return sum(compress(repeat(1), zip(iterable)))\n",
        "    return sum(compress(repeat(1), zip(iterable))) + 1\n")
CHUNKED = ("more_itertools/more.py", "    iterator = iter(partial(take, n, iter(iterable)), [])\n",
           "    iterator = iter(partial(take, n + 1, iter(iterable)), [])\n")

SCENARIOS = [
    ("toolz: frequencies broken", "toolz-1.0.0", None, [FREQUENCIES]),
    ("toolz: frequencies + identity broken", "toolz-1.0.0", None, [FREQUENCIES, IDENTITY]),
    ("toolz: import error in itertoolz", "toolz-1.0.0", None, [IMPORT_ERROR]),
    ("toolz: frequencies, pytest -v", "toolz-1.0.0", "python -m pytest -v", [FREQUENCIES]),
    ("more-itertools: ilen broken (unittest)", "more-itertools-10.5.0", None, [ILEN]),
    ("more-itertools: ilen + chunked (unittest -v)", "more-itertools-10.5.0", "python -m unittest -v", [ILEN, CHUNKED]),
    ("more-itertools: ilen broken (pytest)", "more-itertools-10.5.0", "python -m pytest", [ILEN]),
]


def run_scenario(work: Path, sdist: Path, cmd: str | None, edits: list[tuple[str, str, str]]):
    root = Path(shutil.copytree(sdist, work / "project"))
    for rel, old, new in edits:
        path = root / rel
        text = path.read_text()
        if old not in text:
            raise SystemExit(f"benchmark edit no longer applies to {rel}: {old!r}")
        path.write_text(text.replace(old, new, 1))
    box = open_sandbox("none", root, scratch=work / "scratch")
    command = detect_test_command(root, cmd)
    plain = box.run(command.cmd, timeout=900)
    report = TestRunner(box, command).run()
    text = digest(report, max_chars=4000)
    shutil.rmtree(root)
    return report, text, len(plain.output) + plain.dropped_bytes


def main() -> None:
    sdists = {p.name: p for p in fetch()}
    rows = []
    for label, name, cmd, edits in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            report, text, plain = run_scenario(Path(tmp), sdists[name], cmd, edits)
        failing = len(report.failed)  # collection errors are failing cases too
        rows.append((label, report.runner, failing, plain, report.raw_output_size, len(text)))
    header = (f"{'scenario':46} {'runner':9} {'failing':>7} {'plain out':>10} {'our out':>8} "
              f"{'digest':>7} {'plain/digest':>12}")
    print(header)
    print("-" * len(header))
    for label, runner, failing, plain, ours, size in rows:
        print(f"{label:46} {runner:9} {failing:>7} {plain:>10} {ours:>8} {size:>7} {plain / max(size, 1):>11.1f}x")
    totals = [sum(r[i] for r in rows) for i in (2, 3, 4, 5)]
    print("-" * len(header))
    print(f"{'all scenarios':46} {'':9} {totals[0]:>7} {totals[1]:>10} {totals[2]:>8} {totals[3]:>7} "
          f"{totals[1] / max(totals[3], 1):>11.1f}x")
    print("chars; plain out = the test command run as is; our out = with codeagent's reporting options; "
          "digest bound 4000")


if __name__ == "__main__":
    main()
