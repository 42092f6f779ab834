"""The live view: events and the model's streamed text reach the panel."""

from __future__ import annotations

import io
import shutil

from rich.console import Console

from codeagent.config import load_settings
from codeagent.events import Event, EventBus
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task
from codeagent.ui.live import RunView

SANDBOX = "bwrap" if shutil.which("bwrap") else "none"


def rendered(view: RunView) -> str:
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(view)
    return out.getvalue()


def test_streamed_text_shows_until_the_reply_is_complete():
    view = RunView(Console(file=io.StringIO()), live=False)
    view(Event("plan", {"steps": [{"what": "fix add", "files": ["calc.py"], "status": "in_progress"}]}))
    for piece in ("Reading ", "calc.py to see\nwhy add ", "subtracts"):
        view.delta(piece)
    text = rendered(view)
    assert "model: why add subtracts" in text and "fix add" in text
    view(Event("usage", {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0}))
    assert "model:" not in rendered(view)


def test_the_loop_streams_the_models_text_to_delta_subscribers(make_repo):
    repo = make_repo({"calc.py": "def add(a, b):\n    return a - b\n"})
    bus = EventBus()
    streamed: list[str] = []
    bus.subscribe_deltas(streamed.append)
    model = ScriptedModel([
        tool("update_plan", steps=[{"what": "fix add", "files": ["calc.py"], "done_when": "add adds"}]),
        tool("read_file", text="Let me look at calc.py first.", path="calc.py"),
        tool("finish", summary="looked"),
    ])
    settings = load_settings(repo, {"sandbox": SANDBOX, "test_cmd": "true"}).settings
    run_task(RunRequest(repo=repo, instruction="fix add", settings=settings, model=model, apply="none",
                        bus=bus, session_root=repo.parent / "sessions"))
    assert "".join(streamed) == "Let me look at calc.py first."
