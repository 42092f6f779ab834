"""Failure digest size versus raw test output size, on real failures in real projects.

    python benchmarks/test_digest.py

Copies the toolz and more-itertools sdists (fetched by tests/data/fetch_sdists.py),
breaks functions in them, runs the tests through `TestRunner` (unsandboxed backend)
and prints, per scenario: failing tests found, the characters of output the test
command printed (what an exit-code-and-whole-output tool hands the model), the
characters of codeagent's digest, and the ratio between the two.
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
    report = TestRunner(box, detect_test_command(root, cmd)).run()
    text = digest(report, max_chars=4000)
    shutil.rmtree(root)
    return report, text


def main() -> None:
    sdists = {p.name: p for p in fetch()}
    rows = []
    for label, name, cmd, edits in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            report, text = run_scenario(Path(tmp), sdists[name], cmd, edits)
        failing = len(report.failed)  # collection errors are failing cases too
        rows.append((label, report.runner, failing, report.raw_output_size, len(text)))
    header = f"{'scenario':46} {'runner':9} {'failing':>7} {'raw chars':>10} {'digest':>7} {'raw/digest':>10}"
    print(header)
    print("-" * len(header))
    for label, runner, failing, raw, size in rows:
        print(f"{label:46} {runner:9} {failing:>7} {raw:>10} {size:>7} {raw / max(size, 1):>9.1f}x")
    total_raw = sum(r[3] for r in rows)
    total_digest = sum(r[4] for r in rows)
    print("-" * len(header))
    print(f"{'all scenarios':46} {'':9} {sum(r[2] for r in rows):>7} {total_raw:>10} {total_digest:>7} "
          f"{total_raw / max(total_digest, 1):>9.1f}x")
    print("digest bound: 4000 chars; raw = characters the test command printed")


if __name__ == "__main__":
    main()
