"""How a detected test command is actually run: the reporting options codeagent adds
per runner (JUnit XML for pytest, JSON for go/jest/vitest, ...), the selection of a
subset of tests, the environment, and the file the machine-readable report lands in.
Reports always go to the sandbox's scratch dir, never into the workspace."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from codeagent.testing.detect import TestCommand, invocation_words, split_chain

SHIM = Path(__file__).with_name("unittest_shim.py")
UNITTEST_FLAGS = {"-v", "-q", "-b", "-c", "-f", "--locals", "--verbose", "--quiet", "--buffer", "--failfast"}
SELECTABLE = {"pytest", "unittest", "go", "cargo", "jest", "vitest", "node"}


@dataclass
class Invocation:
    cmd: str
    env: dict[str, str] = field(default_factory=dict)
    artifact: Path | None = None  # where the machine-readable report is written
    selected: bool = False  # the selection was applied (the runner supports it)


def build_invocation(command: TestCommand, root: Path, workdir: Path, tag: str,
                     selection: list[str] | None = None) -> Invocation:
    """The command line that runs `command` (optionally only `selection`) with reports on."""
    build = BUILDERS.get(command.runner)
    selection = list(selection or [])
    if build is None:
        return Invocation(command.cmd)
    inv = build(command.cmd, root, workdir, tag, selection)
    inv.selected = bool(selection) and command.runner in SELECTABLE
    return inv


def _join(prefix: str, words: list[str]) -> str:
    return prefix + shlex.join(words)


def _last(cmd: str) -> tuple[str, list[str]]:
    prefix, last = split_chain(cmd)
    try:
        return prefix, shlex.split(last)
    except ValueError:
        return prefix, []


def _existing_path(word: str, root: Path) -> bool:
    if word.startswith("-"):
        return False
    path = word.split("::", 1)[0]
    return bool(path) and (root / path).exists()


def _pytest(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    xml = workdir / f"{tag}.xml"
    opts = [f"--junitxml={xml}", "-o", "junit_family=xunit1", "-o", "junit_logging=all",
            "-o", "junit_log_passing_tests=false", "-o", f"cache_dir={workdir / 'pytest_cache'}",
            "--continue-on-collection-errors"]
    if "--tb" not in cmd:
        opts.append("--tb=short")
    if selection:
        prefix, words = _last(cmd)
        words = [w for w in words if not _existing_path(w, root)]
        return Invocation(_join(prefix, words + opts + selection), artifact=xml)
    return Invocation(f"{cmd} {shlex.join(opts)}", artifact=xml)


def _unittest(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    out = workdir / f"{tag}.json"
    shim = workdir / "codeagent_unittest.py"
    shim.write_text(SHIM.read_text(encoding="utf-8"), encoding="utf-8")
    prefix, words = _last(cmd)
    for i in range(len(words) - 1):
        if words[i] == "-m" and words[i + 1] == "unittest":
            head, args = words[:i] + [str(shim), str(out)], words[i + 2:]
            break
    else:
        return Invocation(cmd)
    if selection:
        top = _option(args, ("-t", "--top-level-directory")) or _option(args, ("-s", "--start-directory"))
        args = (["--path", top] if top else []) + [a for a in args if a in UNITTEST_FLAGS] + selection
    return Invocation(_join(prefix, head + args), artifact=out)


def _option(args: list[str], names: tuple[str, ...]) -> str | None:
    """The value of the first of `names` in `args` (`-s DIR` or `--start-directory=DIR`)."""
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            return args[i + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _go(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    env = {"GOCACHE": str(workdir / "go-cache")}
    if not selection:
        return Invocation(cmd if "-json" in cmd else f"{cmd} -json", env=env)
    prefix, _ = split_chain(cmd)
    packages = sorted({s.split("::", 1)[0] for s in selection})
    names = sorted({s.split("::", 1)[1].split("/", 1)[0] for s in selection if "::" in s})
    words = ["go", "test", "-json"]
    if names:
        words += ["-run", "^(" + "|".join(re.escape(n) for n in names) + ")$"]
    return Invocation(_join(prefix, words + packages), env=env)


def _cargo(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    env = {"CARGO_TERM_COLOR": "never", "CARGO_TARGET_DIR": str(workdir / "cargo-target")}
    if "--no-fail-fast" not in cmd:
        cmd = re.sub(r"\bcargo test\b", "cargo test --no-fail-fast", cmd, count=1)
    if selection:
        cmd += (" --exact " if " -- " in cmd else " -- --exact ") + shlex.join(selection)
    return Invocation(cmd, env=env)


def _npm_args(cmd: str, args: list[str]) -> str:
    words = invocation_words(cmd)
    through_npm = bool(words) and Path(words[0]).name in ("npm", "pnpm", "yarn")
    sep = " -- " if through_npm and " -- " not in cmd else " "
    return cmd + sep + shlex.join(args)


def _jest(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    out = workdir / f"{tag}.json"
    files = sorted({s.split("::", 1)[0] for s in selection})
    return Invocation(_npm_args(cmd, ["--json", f"--outputFile={out}", *files]), {"CI": "true"}, out)


def _vitest(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    out = workdir / f"{tag}.json"
    files = sorted({s.split("::", 1)[0] for s in selection})
    args = ["--reporter=default", "--reporter=json", f"--outputFile={out}", *files]
    return Invocation(_npm_args(cmd, args), {"CI": "true"}, out)


def _node(cmd: str, root: Path, workdir: Path, tag: str, selection: list[str]) -> Invocation:
    xml = workdir / f"{tag}.xml"
    args = ["--test-reporter=spec", "--test-reporter-destination=stdout",
            "--test-reporter=junit", f"--test-reporter-destination={xml}"]
    if selection:
        names = [s.rsplit(" > ", 1)[-1] for s in selection]
        args.append("--test-name-pattern=^(" + "|".join(re.escape(n) for n in names) + ")$")
    if re.search(r"\bnode\s+--test\b", cmd):
        return Invocation(re.sub(r"\bnode\s+--test\b", "node --test " + shlex.join(args), cmd, count=1), artifact=xml)
    script = _npm_test_script(root)
    if script.rstrip().endswith("--test"):
        return Invocation(_npm_args(cmd, args), artifact=xml)
    return Invocation(cmd)


def _npm_test_script(root: Path) -> str:
    try:
        return str(json.loads((root / "package.json").read_text())["scripts"]["test"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


BUILDERS = {"pytest": _pytest, "unittest": _unittest, "go": _go, "cargo": _cargo,
            "jest": _jest, "vitest": _vitest, "node": _node}
