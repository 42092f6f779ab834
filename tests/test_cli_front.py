"""The front door as a user meets it: `codeagent run` through the installed CLI against
a local OpenAI-compatible server, piped and on a real terminal (pty)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pexpect
from openai_server import OpenAIServer, Turn

from repo_helpers import git

SANDBOX = "bwrap" if shutil.which("bwrap") else "none"
LONG = "x" * 150  # a changed line far wider than any terminal
CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}
FIXED = f"def add(a, b):\n    # {LONG}\n    return a + b\n"
TURNS = [Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add"}]})]),
         Turn(tool_calls=[("write_file", {"path": "calc.py", "content": FIXED})]),
         Turn(tool_calls=[("finish", {"summary": "fixed add"})])]


def cli_env(server) -> dict:
    return {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test",
            "CODEAGENT_MODEL": "test-model", "CODEAGENT_SANDBOX": SANDBOX, "CODEAGENT_REPO_MAP_TOKENS": "0"}


def codeagent(*args) -> list[str]:
    return [sys.executable, "-c", "from codeagent.cli.entry import main; main()", *args]


def test_an_empty_instruction_is_a_usage_error_that_creates_nothing(make_repo):
    repo = make_repo(PROJECT)
    for args, stdin in ((["run", "  "], ""), (["run", "-"], "\n\n")):
        proc = subprocess.run(codeagent(*args), cwd=repo, input=stdin, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "instruction is empty" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert git(repo, "worktree", "list").count("\n") == 1


def test_instruction_from_stdin_and_json_result_line(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer() as server:
        server.push(*TURNS)
        proc = subprocess.run(codeagent("run", "-", "--json", "--branch", "fix-add"), cwd=repo, env=cli_env(server),
                              input="fix add in calc.py\n", capture_output=True, text=True, timeout=300)
        sent = server.requests[1].body["messages"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any("fix add in calc.py" in (m.get("content") or "") for m in sent)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[-1]["kind"] == "result" and "ts" in lines[-1] and lines[-1]["status"] == "done"
    final = [e for e in lines if e["kind"] == "final"][-1]
    assert final["failing"] == [] and final["unrelated_failing"] == []


def test_terminal_sees_the_whole_diff_and_the_apply_question(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer() as server:
        server.push(*TURNS)
        child = pexpect.spawn(codeagent("run", "fix add")[0], codeagent("run", "fix add")[1:], cwd=str(repo),
                              env={**cli_env(server), "TERM": "xterm", "COLUMNS": "80"}, encoding="utf-8",
                              timeout=240, dimensions=(40, 80))
        child.expect(r"Apply these changes to your working tree\? \[Y/n\]")
        shown = child.before
        child.sendline("y")
        child.expect(pexpect.EOF)
        child.close()
    flat = shown.replace("\r", "").replace("\n", "")
    assert f"+    # {LONG}" in flat  # the whole line, not cut at 80 columns
    assert "calc.py" in shown
    assert child.exitstatus == 0, child.before[-2000:]
    assert (repo / "calc.py").read_text() == FIXED


def _fixer(request):
    """A model answering by what it sees: plan, then write the fix, then finish."""
    body = request.body
    if [t["function"]["name"] for t in body.get("tools", [])] == ["update_plan"]:
        return TURNS[0]
    wrote = any(c["function"]["name"] == "write_file" for m in body["messages"] for c in m.get("tool_calls") or [])
    return TURNS[2] if wrote else TURNS[1]


def test_attempts_run_inside_run_task_and_the_best_is_applied(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer(responder=_fixer) as server:
        proc = subprocess.run(codeagent("run", "fix add", "--attempts", "2", "--json", "--yes"), cwd=repo,
                              env=cli_env(server), capture_output=True, text=True, timeout=300)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == 0, (result["reason"], result["summary"][:500], result["attempts"])
    assert len(result["attempts"]) == 2 and sum(a["chosen"] for a in result["attempts"]) == 1
    assert (repo / "calc.py").read_text() == FIXED
    assert git(repo, "worktree", "list").count("\n") == 1


def test_version_short_help_and_cd(make_repo, tmp_path):
    repo = make_repo(PROJECT)
    version = subprocess.run(codeagent("--version"), capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("codeagent ")
    short = subprocess.run(codeagent("run", "-h"), capture_output=True, text=True, timeout=60)
    assert short.returncode == 0 and "--max-time" in short.stdout
    bare = subprocess.run(codeagent(), capture_output=True, text=True, timeout=60)
    assert bare.returncode == 0 and "run" in bare.stdout
    elsewhere = subprocess.run(codeagent("-C", str(repo), "test", "--json"), cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, env={**os.environ, "CODEAGENT_SANDBOX": SANDBOX})
    assert "test_calc.py" in elsewhere.stdout, elsewhere.stderr[-2000:]
    missing = subprocess.run(codeagent("-C", str(tmp_path / "nope"), "doctor"), capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 2 and "not a directory" in missing.stderr


def test_a_command_imports_only_its_own_module():
    probe = ("import sys; sys.argv = ['codeagent', 'context', '--help']\n"
             "from codeagent.cli import main\n"
             "try:\n    main.main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('codeagent.cli.') and m.endswith(('_cmd', 'doctor'))))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "['codeagent.cli.context_cmd']"
