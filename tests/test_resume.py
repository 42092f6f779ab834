"""Resume: a run killed with SIGKILL mid-step continues from its session log and
workspace, through the real CLI against a real local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from openai_server import OpenAIServer, Turn

from codeagent.session import list_sessions

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"


def cli(args, repo, server, *, endpoint_flags=True, **kw):
    env = {**os.environ, "OPENAI_API_KEY": "sk-resume-test-key-123456", "CODEAGENT_SANDBOX": SANDBOX,
           "CODEAGENT_REPO_MAP_TOKENS": "256"}
    endpoint = ["--model", "m", "--base-url", server.base_url] if endpoint_flags else []
    cmd = [sys.executable, "-m", "codeagent.cli.main", *args, *endpoint, "--yes", "--json"]
    return subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_resume_after_sigkill_finishes_the_task(make_repo):
    repo = make_repo({"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"})
    with OpenAIServer() as server:
        server.push(
            Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add"}]})]),
            Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"})]),
            Turn(text="thinking...", delay=60),  # the process is killed while this call is in flight
        )
        proc = cli(["run", "fix the failing test"], repo, server)
        wait_for(lambda: len(server.chat_requests) >= 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert (repo / "calc.py").read_text() == CALC  # nothing applied
        [info] = list_sessions(repo=repo)
        assert info.status == "interrupted"

        server.push(Turn(tool_calls=[("run_tests", {})]), Turn(tool_calls=[("finish", {"summary": "fixed"})]))
        resumed = cli(["resume"], repo, server, endpoint_flags=False)  # the run's model and endpoint are kept
        out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["kind"] == "session_start" and events[0]["resumed"] is True
    assert events[-1]["status"] == "done"
    assert "return a + b" in (repo / "calc.py").read_text()
    last_prompt = server.chat_requests[-1].body["messages"]
    assert any("Edited calc.py" in (m.get("content") or "") for m in last_prompt)  # the history came back
    [info] = list_sessions(repo=repo)
    assert info.status == "done"
    assert "sk-resume-test-key" not in "".join(p.read_text() for p in info.dir.rglob("*") if p.is_file()
                                               and p.suffix in (".json", ".jsonl", ".patch"))
