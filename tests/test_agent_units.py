"""Units of the loop that need no workspace: plan parsing, budgets, stuck detection,
conversation compaction, argument parsing."""

from __future__ import annotations

import pytest

from codeagent.agent.budget import Budget
from codeagent.agent.validate import resolve_call
from codeagent.agent.memory import ActionRecord, Conversation, WorkingState
from codeagent.agent.stuck import StuckDetector
from codeagent.models.base import Message, ToolCall, Usage
from codeagent.plan import Plan


def count(text: str) -> int:
    return len(text) // 4


def test_plan_from_args_and_render():
    plan = Plan.from_args([{"what": "read", "files": ["a.py"], "done_when": "known"}, "edit"])
    assert [s.what for s in plan.steps] == ["read", "edit"]
    assert "[ ] 1. read (files: a.py) — done when: known" in plan.render()
    assert Plan.from_dict(plan.to_dict()) == plan


@pytest.mark.parametrize("bad, message", [
    ([], "non-empty"), ([{"files": []}], "step 1 needs"), ([{"what": "x", "status": "weird"}], "status"),
    ([{"what": "x", "files": "a.py"}], "files"), ("steps", "non-empty"),
])
def test_plan_rejects_bad_shapes(bad, message):
    with pytest.raises(ValueError, match=message):
        Plan.from_args(bad)


@pytest.mark.parametrize("usage, steps, which", [
    (Usage(), 5, "steps"), (Usage(prompt_tokens=100), 0, "tokens"), (Usage(cost=2.0), 0, "cost"),
])
def test_budget_caps(usage, steps, which):
    budget = Budget(max_steps=5, max_tokens=100, max_cost=1.0, max_time=100)
    budget.start()
    assert budget.exceeded(usage, steps)[0] == f"budget:{which}"
    assert budget.exceeded(Usage(), 0) is None


def test_budget_time_includes_time_spent_before_resume():
    budget = Budget(max_steps=5, max_tokens=100, max_cost=None, max_time=10, spent_time=10)
    budget.start()
    assert budget.exceeded(Usage(), 0)[0] == "budget:time"
    assert budget.deadline() <= budget.started


def test_stuck_detector_repeats_and_malformed_and_progress():
    d = StuckDetector(repeat_limit=3, malformed_limit=2, no_progress_limit=4)
    assert d.action("edit a", ok=False, progress=False) is None
    assert d.action("edit a", ok=False, progress=False) is None
    assert "repeated 3 times" in d.action("edit a", ok=False, progress=False)
    assert d.malformed() is None
    assert "malformed" in d.malformed()
    d2 = StuckDetector(no_progress_limit=3)
    assert d2.action("read", True, False) is None
    assert d2.action("read b", True, False) is None
    assert "no edit held" in d2.action("read c", True, False)


@pytest.mark.parametrize("name, raw, error", [
    ("edit_file", '{"path": "a"', "not valid JSON"),
    ("edit_file", "[1, 2]", "must be a JSON object"),
    ("delete_everything", "{}", "unknown tool 'delete_everything'"),
])
def test_resolve_call_errors(name, raw, error):
    assert error in resolve_call(name, raw).error


def make_turn(i: int, size: int) -> list[Message]:
    call = ToolCall(f"c{i}", "read_file", '{"path": "f.py"}')
    return [Message("assistant", f"step {i}", tool_calls=[call]),
            Message("tool", "x" * size, tool_call_id=f"c{i}", name="read_file")]


def test_compaction_keeps_prefix_and_records_state():
    conv = Conversation("SYSTEM", "TASK", count, window=10_000, compact_at=0.5)
    state = WorkingState(goal="add a flag", plan=Plan.from_args([{"what": "edit cli", "status": "in_progress"}]))
    state.tests = "3 passed, 1 failed"
    state.actions.append(ActionRecord(1, "edit_file", "cli.py", False, "old text not found"))
    state.files_changed["cli.py"] = "added --json"
    for i in range(30):
        conv.add_turn(make_turn(i, 800))
    assert conv.needs_compaction()
    before = conv.tokens()
    assert conv.compact(state)
    msgs = conv.messages()
    assert [m.content for m in msgs[:2]] == ["SYSTEM", "TASK"]
    memory = msgs[2].content
    for needle in ("add a flag", "edit cli", "3 passed, 1 failed", "cli.py: added --json", "old text not found"):
        assert needle in memory
    assert conv.tokens() < before / 2
    assert msgs[3].role == "assistant"  # kept turns start whole, tool results follow their call


def test_forced_compaction_always_shrinks():
    conv = Conversation("S", "T", count, window=100_000, compact_at=0.9)
    for i in range(5):
        conv.add_turn(make_turn(i, 100))
    state = WorkingState(goal="g")
    assert not conv.compact(state)
    assert conv.compact(state, force=True)
    assert len(conv.turns) < 5


def test_conversation_round_trip():
    conv = Conversation("S", "T", count, window=1000, compact_at=0.5)
    conv.add_turn(make_turn(1, 10))
    again = Conversation.from_dict(conv.to_dict(), count, window=1000, compact_at=0.5)
    assert [m.to_dict() for m in again.messages()] == [m.to_dict() for m in conv.messages()]
