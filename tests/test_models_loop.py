"""The whole loop (`run_task`) on a model opened from settings, talking to the real local
OpenAI-compatible server through server faults: the task is still solved."""

from __future__ import annotations

import shutil

from openai_server import OpenAIServer, Raw, Turn, error, rate_limited

from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.runner import RunRequest, run_task

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"
NGINX_502 = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
             b"<hr><center>nginx</center></body></html>")
EDIT = {"path": "calc.py", "old": "return a - b", "new": "return a + b"}


def test_server_faults_through_the_whole_loop_and_the_task_is_solved(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer() as server:
        server.push(
            Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add", "files": ["calc.py"]}]})]),
            rate_limited(retry_after=0.05),
            Turn(tool_calls=[("edit_file", EDIT)], drop_after=3),  # the connection drops mid-reply
            Turn(tool_calls=[("edit_file", EDIT)]),
            error(500, "upstream hiccup", type_="server_error"),
            Turn(tool_calls=[("run_tests", {})], stall_after=2),  # the stream goes quiet
            Turn(tool_calls=[("run_tests", {})]),
            Raw(502, NGINX_502, {"Content-Type": "text/html"}),
            Turn(tool_calls=[("finish", {"summary": "add adds"})]),
        )
        flags = {"sandbox": SANDBOX, "repo_map_tokens": 0, "model": "local-model", "base_url": server.base_url,
                 "stream_idle_timeout": 0.5, "max_output_tokens": 2048}
        settings = load_settings(repo, flags).settings
        events = []
        bus = EventBus()
        bus.subscribe(events.append)
        result = run_task(RunRequest(repo=repo, instruction="fix the failing test", settings=settings, bus=bus,
                                     session_root=repo.parent / "sessions"))
        chats = server.chat_requests
        assert server.pending == 0
    assert (result.status, result.reason, result.exit_code) == ("done", "tests_pass", 0), result.summary
    assert "return a + b" in (repo / "calc.py").read_text()
    assert result.steps == 4  # plan, edit, run_tests, finish: each fault cost a retry, not a step
    warnings = [e.data["message"] for e in events if e.kind == "warning"]
    for needle in ("HTTP 429", "HTTP 500", "502 Bad Gateway (an HTML page", "broke off", "stalled"):
        assert any(needle in w for w in warnings), (needle, warnings)
    assert all(r.body["max_tokens"] == 2048 for r in chats)
