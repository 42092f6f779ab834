"""Detection of a project's test command: each ecosystem, precedence, explicit commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeagent.testing import classify_command, detect_test_command


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    "files, runner, reason",
    [
        ({"pytest.ini": "[pytest]\n"}, "pytest", "pytest.ini"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts='-q'\n"}, "pytest", "pyproject"),
        ({"tox.ini": "[pytest]\ntestpaths=tests\n"}, "pytest", "tox.ini"),
        ({"setup.cfg": "[tool:pytest]\ntestpaths=tests\n"}, "pytest", "setup.cfg"),
        ({"conftest.py": ""}, "pytest", "conftest"),
        ({"setup.py": "", "tox.ini": "[testenv]\ncommands = python -m unittest -v\n"}, "unittest", "tox.ini"),
        ({"setup.py": "", "Makefile": "test:\n\tpytest -q\n"}, "pytest", "Makefile"),
        ({"tests/test_a.py": "import pytest\n"}, "pytest", "import pytest"),
        ({"tests/test_a.py": "import unittest\n"}, "unittest", "unittest test files"),
        ({"tests/test_a.py": "def test_x():\n    pass\n"}, "pytest", "plain test functions"),
        ({"go.mod": "module x\n"}, "go", "go.mod"),
        ({"Cargo.toml": "[package]\nname='x'\n"}, "cargo", "Cargo.toml"),
        ({"Makefile": "build:\n\ttrue\ntest: build\n\t./run\n"}, "make", "Makefile"),
    ],
)
def test_detects_each_ecosystem(tmp_path, files, runner, reason):
    found = detect_test_command(write(tmp_path, files))
    assert found is not None and found.runner == runner
    assert reason.split()[0].lower() in found.reason.lower()


@pytest.mark.parametrize(
    "package, runner, cmd",
    [
        ({"scripts": {"test": "jest --ci"}}, "jest", "npm test"),
        ({"scripts": {"test": "vitest run"}}, "vitest", "npm test"),
        ({"scripts": {"test": "node --test"}}, "node", "npm test"),
        ({"scripts": {"test": "mocha"}}, "npm", "npm test"),
        ({"devDependencies": {"vitest": "^1"}}, "vitest", "npx vitest run"),
        ({"devDependencies": {"jest": "^29"}}, "jest", "npx jest"),
        ({"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}, "node", "node --test"),
    ],
)
def test_detects_javascript_runners(tmp_path, package, runner, cmd):
    write(tmp_path, {"package.json": json.dumps(package)})
    found = detect_test_command(tmp_path)
    assert (found.runner, found.cmd) == (runner, cmd)


def test_nothing_to_detect_is_none(tmp_path):
    write(tmp_path, {"README.md": "hi", "Makefile": "all:\n\ttrue\n"})
    assert detect_test_command(tmp_path) is None


def test_broken_config_files_do_not_crash_detection(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.pytest\n", "setup.cfg": "[[[", "package.json": "{nope",
                     "tests/test_x.py": "import unittest\n"})
    assert detect_test_command(tmp_path).runner == "unittest"


def test_python_wins_over_makefile_and_override_wins_over_all(tmp_path):
    write(tmp_path, {"pytest.ini": "[pytest]\n", "Makefile": "test:\n\ttrue\n"})
    assert detect_test_command(tmp_path).runner == "pytest"
    found = detect_test_command(tmp_path, "make test")
    assert (found.cmd, found.runner) == ("make test", "make")
    assert "explicit" in found.reason


@pytest.mark.parametrize(
    "cmd, runner",
    [
        ("pytest -x tests", "pytest"),
        ("python3 -m pytest -q", "pytest"),
        ("uv run pytest", "pytest"),
        ("FOO=1 py.test", "pytest"),
        ("cd sub && python -m pytest", "pytest"),
        ("python -m unittest discover -s tests", "unittest"),
        ("go test ./...", "go"),
        ("cargo test --all", "cargo"),
        ("npx jest", "jest"),
        ("npx vitest run", "vitest"),
        ("node --test test/", "node"),
        ("make check", "make"),
        ("pytest | tee log", "custom"),
        ("./run-tests.sh", "custom"),
        ("python -m mymod", "custom"),
        ("'unbalanced", "custom"),
    ],
)
def test_explicit_commands_are_recognised(cmd, runner):
    assert classify_command(cmd) == runner


def test_npm_test_is_refined_from_package_json(tmp_path):
    write(tmp_path, {"package.json": json.dumps({"scripts": {"test": "jest"}})})
    assert classify_command("npm test", tmp_path) == "jest"
    assert detect_test_command(tmp_path, "npm run test").runner == "jest"
