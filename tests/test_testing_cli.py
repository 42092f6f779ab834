"""`codeagent test`: the real CLI in a subprocess, against real repos."""

from __future__ import annotations

import json
import subprocess
import sys

PASSING = {"calc.py": "def add(a, b):\n    return a + b\n",
           "tests/test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"}


def codeagent(repo, *args):
    return subprocess.run([sys.executable, "-m", "codeagent.cli.main", "test", *args], cwd=repo,
                          capture_output=True, text=True, timeout=300)


def test_exit_codes_follow_the_tests_and_json_is_one_object(make_repo):
    repo = make_repo(PASSING)
    done = codeagent(repo, "--sandbox", "none", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "test_run" and data["ok"] is True
    assert data["command"]["runner"] == "pytest" and data["summary"]["passed"] == 1
    assert data["report"]["kind"] == "test_report"
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    failed = codeagent(repo, "--sandbox", "none")
    assert failed.returncode == 1
    assert "FAILED tests/test_calc.py::test_add" in failed.stdout and "pytest" in failed.stdout


def test_explicit_command_and_repo_config(make_repo):
    repo = make_repo(PASSING)
    result = codeagent(repo, "--sandbox", "none", "--json", "--test-cmd", "python -c 'raise SystemExit(3)'")
    data = json.loads(result.stdout)
    assert result.returncode == 1 and data["command"]["runner"] == "custom"
    assert data["report"]["tests"][0]["message"] == "exit code 3"
    (repo / ".codeagent.toml").write_text('test_cmd = "python -m pytest -q tests"\n')
    from_config = codeagent(repo, "--sandbox", "none", "--json")
    assert from_config.returncode == 0 and json.loads(from_config.stdout)["command"]["cmd"] == "python -m pytest -q tests"


def test_no_test_command_is_a_usage_error(make_repo):
    repo = make_repo({"README.md": "nothing to test\n"})
    result = codeagent(repo, "--sandbox", "none")
    assert result.returncode == 2 and "no test command found" in result.stderr
    bad = codeagent(repo, "--sandbox", "nope", "--test-cmd", "true")
    assert bad.returncode == 2 and "nope" in bad.stderr
