"""Which command runs a project's tests, and why: `detect_test_command`.

Order: an explicit command (the `--test-cmd` flag or `test_cmd` in repo config,
passed in as `override`) wins; then the project's own files are read: Python
(pytest config, tox/Makefile commands, test files), JavaScript (package.json),
Go (go.mod), Rust (Cargo.toml), and finally a Makefile `test` target. An explicit
command is still recognised (`pytest -x tests` is pytest) so it gets structured results.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

RUNNERS = ("pytest", "unittest", "jest", "vitest", "node", "npm", "go", "cargo", "make", "custom")
NPM_DEFAULT_TEST = "no test specified"
WRAPPERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run")}
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", ".tox", "build", "dist", "target", "__pycache__"}


@dataclass
class TestCommand:
    cmd: str  # shell command, run from the workspace root
    runner: str  # one of RUNNERS
    reason: str  # why this command was chosen, said to the user
    kind: str = "test_command"

    __test__ = False

    def to_dict(self) -> dict:
        return asdict(self)


def detect_test_command(root: Path, override: str | None = None) -> TestCommand | None:
    """The command that runs the tests of the project at `root`, or None when unknown."""
    root = Path(root)
    if override and override.strip():
        runner = classify_command(override, root)
        return TestCommand(override.strip(), runner, f"given explicitly (recognised as {runner})")
    for probe in (_python, _javascript, _go, _cargo, _make):
        found = probe(root)
        if found:
            return found
    return None


def split_chain(cmd: str) -> tuple[str, str]:
    """Split `cmd` into (prefix, last command) at its last top-level `&&` or `;`."""
    match = None
    for match in re.finditer(r"&&|;", cmd):
        pass
    if match is None:
        return "", cmd.strip()
    return cmd[: match.end()] + " ", cmd[match.end():].strip()


def invocation_words(cmd: str) -> list[str]:
    """The words of the last command in a chain, without env assignments or wrappers."""
    _, last = split_chain(cmd)
    try:
        words = shlex.split(last)
    except ValueError:
        return []
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]
    if len(words) >= 2 and (Path(words[0]).name, words[1]) in WRAPPERS:
        words = words[2:]
    return words


def classify_command(cmd: str, root: Path | None = None) -> str:
    """The runner an explicit command invokes, or "custom"."""
    if "|" in cmd.replace("||", ""):
        return "custom"
    words = invocation_words(cmd)
    if not words:
        return "custom"
    head = Path(words[0]).name
    rest = words[1:]
    if head in ("npx", "pnpm", "yarn") and rest and rest[0] not in ("test", "run"):
        head, rest = rest[0], rest[1:]
    if head in ("pytest", "py.test"):
        return "pytest"
    if re.fullmatch(r"python[0-9.]*", head) and len(rest) >= 2 and rest[0] == "-m":
        return {"pytest": "pytest", "unittest": "unittest"}.get(rest[1], "custom")
    if head == "go" and rest[:1] == ["test"]:
        return "go"
    if head == "cargo" and rest[:1] == ["test"]:
        return "cargo"
    if head in ("jest", "vitest"):
        return head
    if head == "node" and "--test" in rest:
        return "node"
    if head in ("npm", "pnpm", "yarn") and (rest[:1] in (["test"], ["t"]) or rest[:2] == ["run", "test"]):
        return _npm_runner(root) if root else "npm"
    if head == "make":
        return "make"
    return "custom"


def _python_exe() -> str:
    return "python" if shutil.which("python") else "python3"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _python(root: Path) -> TestCommand | None:
    py = _python_exe()
    pytest_cmd, unittest_cmd = f"{py} -m pytest", f"{py} -m unittest"
    if (root / "pytest.ini").is_file():
        return TestCommand(pytest_cmd, "pytest", "pytest.ini")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(_read(pyproject))
        except tomllib.TOMLDecodeError:
            data = {}
        if "pytest" in data.get("tool", {}):
            return TestCommand(pytest_cmd, "pytest", "[tool.pytest] in pyproject.toml")
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        if _has_ini_section(root / name, section):
            return TestCommand(pytest_cmd, "pytest", f"[{section}] in {name}")
    if (root / "conftest.py").is_file():
        return TestCommand(pytest_cmd, "pytest", "conftest.py at the root")
    is_python = any((root / n).is_file() for n in ("pyproject.toml", "setup.py", "setup.cfg"))
    test_files = _python_test_files(root)
    if not (is_python or test_files):
        return None
    for name in ("tox.ini", "Makefile", "noxfile.py"):
        text = _read(root / name)
        if re.search(r"-m\s+unittest\b", text):
            return TestCommand(unittest_cmd, "unittest", f"{name} runs `-m unittest`")
        if re.search(r"\bpytest\b", text):
            return TestCommand(pytest_cmd, "pytest", f"{name} runs pytest")
    texts = [_read(p) for p in test_files[:200]]
    if any(re.search(r"^\s*(import pytest|from pytest)", t, re.M) for t in texts):
        return TestCommand(pytest_cmd, "pytest", "test files import pytest")
    if any(re.search(r"^(async )?def test_", t, re.M) for t in texts):
        return TestCommand(pytest_cmd, "pytest", "test files hold plain test functions (pytest style)")
    if test_files:
        for folder in ("tests", "test"):
            if (root / folder).is_dir() and not (root / folder / "__init__.py").exists():
                return TestCommand(f"{unittest_cmd} discover -s {folder}", "unittest",
                                   f"unittest test files in {folder}/ (not a package)")
        return TestCommand(unittest_cmd, "unittest", "Python test files that use only unittest")
    return None


def _has_ini_section(path: Path, section: str) -> bool:
    if not path.is_file():
        return False
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(_read(path))
    except configparser.Error:
        return False
    return parser.has_section(section)


def _python_test_files(root: Path, limit: int = 500) -> list[Path]:
    found: list[Path] = []
    stack = [root]
    while stack and len(found) < limit:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.suffix == ".py" and (entry.name.startswith("test") or entry.name.endswith("_test.py")):
                found.append(entry)
    return found


def _package_json(root: Path) -> dict:
    path = root / "package.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(_read(path))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _npm_runner(root: Path) -> str:
    script = str(_package_json(root).get("scripts", {}).get("test", ""))
    for runner, pattern in (("vitest", r"\bvitest\b"), ("jest", r"\bjest\b"), ("node", r"\bnode\b.*--test\b")):
        if re.search(pattern, script):
            return runner
    return "npm"


def _javascript(root: Path) -> TestCommand | None:
    data = _package_json(root)
    if not data:
        return None
    script = str(data.get("scripts", {}).get("test", ""))
    if script and NPM_DEFAULT_TEST not in script:
        runner = _npm_runner(root)
        return TestCommand("npm test", runner, f"package.json scripts.test: {script!r}")
    deps = {**data.get("dependencies", {}), **data.get("devDependencies", {})}
    for runner, cmd in (("vitest", "npx vitest run"), ("jest", "npx jest")):
        if runner in deps:
            return TestCommand(cmd, runner, f"{runner} in package.json dependencies")
    return TestCommand("node --test", "node", "package.json without a test script: node's built-in runner")


def _go(root: Path) -> TestCommand | None:
    if (root / "go.mod").is_file():
        return TestCommand("go test ./...", "go", "go.mod")
    return None


def _cargo(root: Path) -> TestCommand | None:
    if (root / "Cargo.toml").is_file():
        return TestCommand("cargo test", "cargo", "Cargo.toml")
    return None


def _make(root: Path) -> TestCommand | None:
    for name in ("Makefile", "makefile", "GNUmakefile"):
        if re.search(r"^test\s*:", _read(root / name), re.M):
            return TestCommand("make test", "make", f"`test` target in {name}")
    return None
