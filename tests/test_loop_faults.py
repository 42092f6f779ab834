"""Model faults and long runs through the real loop: every injected fault is survived
or ends with a clear exit reason and a saved partial result; compaction keeps the
plan and the test status."""

from __future__ import annotations

import shutil

from openai_server import OpenAIServer, Turn, context_length_error, error, rate_limited

from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.models.openai_compat import OpenAIModel
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}


def run(repo, model, events=None, **flags):
    settings = load_settings(repo, {"sandbox": SANDBOX, "repo_map_tokens": 0, **flags}).settings
    bus = EventBus()
    if events is not None:
        bus.subscribe(events.append)
    return run_task(RunRequest(repo=repo, instruction="fix the failing test", settings=settings, model=model,
                               bus=bus, session_root=repo.parent / "sessions"))


def server_model(server, **kw):
    return OpenAIModel("m", base_url=server.base_url, api_key="k", backoff_base=0.01, max_retries=2,
                       timeout=5, **kw)


def test_injected_faults_are_survived(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer() as server:
        server.push(
            Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add"}]})]),
            rate_limited(retry_after=0.05),
            error(500, "upstream hiccup", type_="server_error"),
            Turn(tool_calls=[("edit_file", '{"path": "calc.py", "old": "a - b"')]),  # invalid JSON
            Turn(text=""),  # empty reply
            Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"})],
                 finish_reason="length"),
            context_length_error(),
            Turn(tool_calls=[("nonexistent_tool", {})]),
            Turn(tool_calls=[("finish", {"summary": "fixed"})]),
        )
        result = run(repo, server_model(server))
        bodies = [r.body for r in server.chat_requests]
    assert (result.status, result.reason) == ("done", "tests_pass"), result.summary
    tool_texts = [m.get("content") or "" for m in bodies[-1]["messages"]]
    joined = "\n".join(tool_texts)
    assert "not valid JSON" in joined
    assert "cut off" in joined
    assert "unknown tool 'nonexistent_tool'" in joined
    assert "return a + b" in (repo / "calc.py").read_text()
    assert any("Working memory" in t for t in tool_texts)  # the context-length error was met by compacting


def test_persistent_server_error_ends_with_exit_3_and_partial_patch(make_repo):
    repo = make_repo(PROJECT)
    with OpenAIServer() as server:
        server.push(Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add"}]})]),
                    Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": "a - b", "new": "a * b"})]),
                    *[error(503, "overloaded", type_="server_error") for _ in range(3)])
        result = run(repo, server_model(server))
    assert (result.status, result.reason, result.exit_code) == ("not_done", "model_error", 3)
    assert "a * b" in result.patch_path.read_text()
    assert (repo / "calc.py").read_text() == CALC


def test_compaction_keeps_plan_and_test_status(make_repo):
    big = "\n".join(f"LINE_{i} = {i}  # padding to fill the context window quickly" for i in range(150))
    repo = make_repo({**PROJECT, "big.py": big + "\n"})
    seen = {}

    def after_compaction(messages):
        memory = [m.content for m in messages if m.role == "user" and "Working memory" in (m.content or "")]
        seen["memory"] = memory[-1] if memory else ""
        return tool("finish", summary="fixed")

    steps = [tool("update_plan", steps=[{"what": "repair add in calc.py", "status": "in_progress"}]),
             tool("edit_file", path="calc.py", old="a - b", new="a + b"), tool("run_tests")]
    steps += [tool("read_file", path="big.py") for _ in range(6)] + [after_compaction]
    events = []
    result = run(repo, ScriptedModel(steps, context_window=8192), events, context_window=8192, compact_at=0.5)
    assert result.status == "done"
    assert any(e.kind == "compaction" for e in events)
    assert "repair add in calc.py" in seen["memory"]
    assert "1 passed, 0 failed" in seen["memory"]
    assert "calc.py" in seen["memory"]
