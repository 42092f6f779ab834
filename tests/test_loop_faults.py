"""Recovery from the faults real models produce, each through the real loop, the real
OpenAI-compatible client against a local HTTP server, real git and the real sandbox:
the task is still solved, with at most a few extra steps per fault."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from openai_server import OpenAIServer, Raw, Turn

from codeagent.agent.budget import Budget
from codeagent.agent.loop import Agent
from codeagent.agent.memory import Conversation, WorkingState
from codeagent.agent.schemas import TOOL_NAMES
from codeagent.agent.testgate import TestGate
from codeagent.agent.tools import ToolBox
from codeagent.config import load_settings
from codeagent.edits import EditEngine
from codeagent.events import EventBus
from codeagent.models.base import Message, ModelReply, ToolCall
from codeagent.models.scripted import ScriptedModel
from codeagent.runner import RunRequest, run_task
from codeagent.sandbox import open_sandbox

SANDBOX = "bwrap" if shutil.which("bwrap") else "none"
CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}
PLAN = Turn(tool_calls=[("update_plan", {"steps": [{"what": "fix add", "files": ["calc.py"]}]})])
FIX = Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": "return a - b", "new": "return a + b"})])
FINISH = Turn(tool_calls=[("finish", {"summary": "fixed add"})])

FAULTS = {
    "truncated_json": Turn(tool_calls=[("read_file", '{"path": "calc.py", "off')]),
    "null_arguments": Turn(tool_calls=[("read_file", "null")]),
    "array_arguments": Turn(tool_calls=[("read_file", '["calc.py"]')]),
    "string_arguments": Turn(tool_calls=[("read_file", '"calc.py"')]),
    "wrong_type": Turn(tool_calls=[("read_file", {"path": "calc.py", "offset": "abc"})]),
    "unknown_tool": Turn(tool_calls=[("web_search", {"query": "python add"})]),
    "other_agents_editor": Turn(tool_calls=[("str_replace_based_edit_tool", {"command": "view", "path": "calc.py"})]),
    "other_agents_bash": Turn(tool_calls=[("bash", {"command": "cat calc.py"})]),
    "text_only": Turn(text="The bug is in add: it subtracts."),
    "empty_reply": Turn(text=""),
    "call_as_text": Turn(text='<tool_call>{"name": "read_file", "arguments": {"path": "calc.py"}}</tool_call>'),
    "call_in_fence": Turn(text='```json\n{"name": "search", "arguments": {"pattern": "def add"}}\n```'),
    "parallel_one_fails": Turn(tool_calls=[("edit_file", {"path": "missing.py", "old": "x", "new": "y"}),
                                           ("read_file", {"path": "calc.py"})]),
    "length_cut_call": Turn(tool_calls=[("write_file", '{"path": "calc.py", "content": "def add(a, b):\\n  ret')],
                            finish_reason="length"),
    "early_finish": Turn(tool_calls=[("finish", {"summary": "done already"})]),
    "huge_reply": Turn(text="Let me think. " * 15_000),  # about 200 KB
}


def solve(make_repo, turns, *, extra=None):
    repo = make_repo(PROJECT)
    before = (repo / "calc.py").read_text()
    with OpenAIServer() as server:
        server.push(*turns)
        flags = {"sandbox": SANDBOX, "repo_map_tokens": 0, "model": "test-model", "base_url": server.base_url,
                 "api_key": "sk-test", "max_steps": 12, **(extra or {})}
        settings = load_settings(repo, flags).settings
        events = []
        bus = EventBus()
        bus.subscribe(events.append)
        result = run_task(RunRequest(repo=repo, instruction="fix add in calc.py", settings=settings, bus=bus,
                                     session_root=repo.parent / "sessions"))
    return result, events, before, repo


# Faults in groups of three per run (a run costs seconds); between them a good call, as
# a real model makes, so that the stuck detector sees a model that recovers.
GOOD = Turn(tool_calls=[("read_file", {"path": "calc.py"})])
GROUPS = [sorted(FAULTS)[i:i + 3] for i in range(0, len(FAULTS), 3)]


@pytest.mark.parametrize("faults", GROUPS, ids=["+".join(g) for g in GROUPS])
def test_faults_then_solved(make_repo, faults):
    turns = [t for f in faults for t in (FAULTS[f], GOOD)]
    result, events, _, repo = solve(make_repo, [PLAN, *turns, FIX, FINISH])
    assert (result.status, result.reason) == ("done", "tests_pass"), result.summary
    assert result.steps == 1 + len(turns) + 2  # one model call per fault, nothing lost to recovery
    assert "return a + b" in (repo / "calc.py").read_text()
    assert not [e for e in events if e.kind == "warning" and "traceback" in e.data]


def test_two_calls_with_the_same_id_get_answers_the_server_accepts(make_repo):
    """A reply with duplicate call ids: both run, and the next request carries unique ids."""
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                         "tool_calls": [{"id": "dup", "type": "function", "function": {"name": "read_file",
                                        "arguments": json.dumps({"path": "calc.py"})}},
                                        {"id": "dup", "type": "function", "function": {"name": "list_files",
                                                                                      "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}
    repo_turns = [PLAN, Raw(200, body), FIX, FINISH]
    result, events, _, _ = solve(make_repo, repo_turns, extra={"stream": False})
    assert result.status == "done"
    ids = [e.data["id"] for e in events if e.kind == "tool_result"][:2]
    assert len(set(ids)) == 2


def test_an_exception_inside_a_tool_becomes_an_observation_and_a_logged_warning(make_repo, tmp_path):
    """A bug in a tool (here a sandbox that raises) never leaves the loop."""
    class Exploding:
        name = "exploding"

        def run(self, command, timeout=None):
            raise RuntimeError("boom inside the sandbox")

    root = make_repo(PROJECT)
    agent, model, events = _agent(root, tmp_path, [
        [{"tool": "run_command", "args": {"command": "ls"}}], [{"tool": "finish", "args": {"summary": "x"}}]],
        sandbox=Exploding())
    outcome = agent.run()
    assert outcome.done  # the loop went on to the finish
    out = [m.content for m in model.calls[1]["messages"] if m.role == "tool"][-1]
    assert "internal error (RuntimeError: boom inside the sandbox)" in out
    warning = [e for e in events if e.kind == "warning"][0]
    assert "Traceback" in warning.data["traceback"] and "boom" in warning.data["traceback"]


def _agent(root, tmp_path, steps, sandbox=None):
    sandbox = sandbox or open_sandbox(SANDBOX, root, scratch=tmp_path / "scratch")
    gate = TestGate(None, None, [])
    tools = ToolBox(root, sandbox, EditEngine(root), gate, tmp_path / "outputs", command_timeout=5)
    model = ScriptedModel(steps)
    events = []
    bus = EventBus()
    bus.subscribe(events.append)
    conv = Conversation("system", "task", lambda t: len(t) // 4, window=1_000_000, compact_at=0.9)
    agent = Agent(model, tools, gate, conv, WorkingState(goal="x"), Budget(10_000, 10**9, None, 600.0), bus)
    agent.budget.start()
    return agent, model, events


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
PARAMS = ["path", "offset", "limit", "pattern", "glob", "old", "new", "replace_all", "content", "command",
          "timeout", "selection", "steps", "summary"]
ARGS = st.one_of(st.dictionaries(st.sampled_from(PARAMS), JSON, max_size=4).map(json.dumps),
                 JSON.map(json.dumps), st.text(max_size=40))


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "a.py").write_text("x = 1\n")
    return root


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.tuples(st.sampled_from(TOOL_NAMES + ["bash", "apply_patch", "nope"]), ARGS),
                      min_size=1, max_size=4))
def test_arbitrary_arguments_to_every_tool_never_raise(fuzz_root, tmp_path_factory, calls):
    tmp = tmp_path_factory.mktemp("f")
    reply = ModelReply(Message("assistant", None, tool_calls=[ToolCall(f"c{i}", n, a) for i, (n, a) in
                                                              enumerate(calls)]), finish_reason="tool_calls")
    agent, model, events = _agent(fuzz_root, tmp, [reply])
    outcome = agent.run()  # ends when the script runs out (model_error) or on finish; never raises
    assert outcome.reason in ("model_error", "no_tests", "stuck")
    assert not [e for e in events if e.kind == "warning" and "traceback" in e.data]


def test_a_crash_outside_the_tools_ends_the_run_as_error_and_releases_everything(make_repo):
    """A bug anywhere else (here a model adapter raising a plain exception) ends the run
    as `error`: session finalised, worktree released, the user's tree untouched, exit 5."""
    repo = make_repo(PROJECT)
    settings = load_settings(repo, {"sandbox": SANDBOX, "repo_map_tokens": 0}).settings
    events = []
    bus = EventBus()
    bus.subscribe(events.append)

    def crash(messages):
        raise KeyError("adapter bug")

    model = ScriptedModel([{"tool": "update_plan", "args": {"steps": [{"what": "x"}]}},
                           {"tool": "edit_file", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}}, crash])
    result = run_task(RunRequest(repo=repo, instruction="fix add", settings=settings, model=model, bus=bus,
                                 session_root=repo.parent / "sessions"))
    assert (result.status, result.exit_code, result.reason) == ("error", 5, "error:KeyError")
    assert (repo / "calc.py").read_text() == CALC
    assert "a + b" in result.diff and result.patch_path.is_file()  # the partial work is kept as a patch
    meta = json.loads((result.session_dir / "meta.json").read_text())
    assert meta["status"] == "error"
    from repo_helpers import git
    assert git(repo, "worktree", "list").count("\n") == 1
    assert "KeyError" in [e for e in events if e.kind == "warning"][-1].data["traceback"]
    assert events[-1].kind == "final" and events[-1].data["status"] == "error"


def test_max_time_is_enforced_during_a_model_call(make_repo):
    """A reply that streams slowly past --max-time is cut off at the deadline: the run
    ends budget:time promptly, not after the call or its retries."""
    slow = Turn(text="thinking " * 200, chunk_size=4, chunk_delay=0.05)  # about 20 s of steady streaming
    result, events, before, repo = solve(make_repo, [PLAN, slow, FIX, FINISH], extra={"max_time": 8})
    assert (result.status, result.reason, result.exit_code) == ("not_done", "budget:time", 1)
    took = events[-1].ts - events[0].ts  # session start to final event
    assert took < 8 + 4, took  # the deadline and the wrap-up, not the 20 s reply
    assert (repo / "calc.py").read_text() == before
