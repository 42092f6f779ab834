"""Adversarial suite, tools class: a hostile model's read_file / list_files / search /
edit_file / write_file calls aimed at host files, leaving symlinks, the outputs folder
and FIFOs. Every path goes through one resolver (edits.paths) and every read through
`edits.reading`; each test fails if that defence goes. The last test drives the whole
loop with a scripted model and checks that the host secret reaches no tool result, no
session log and no JSONL."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from codeagent.agent.tools import ToolBox
from codeagent.config import load_settings
from codeagent.edits import EditEngine
from codeagent.edits.errors import PathRefused
from codeagent.edits.reading import read_capped
from codeagent.events import EventBus
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task

SECRET = "HOST-SECRET-8c1f2e"


@pytest.fixture
def host_secret(tmp_path) -> Path:
    home = tmp_path / "home" / ".ssh"
    home.mkdir(parents=True)
    key = home / "id_rsa"
    key.write_text(f"-----BEGIN KEY-----\n{SECRET}\n-----END KEY-----\n")
    return key


@pytest.fixture
def ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("print('hi')\n")
    return root


@pytest.fixture
def box(ws, tmp_path) -> ToolBox:
    outputs = tmp_path / "session" / "outputs"
    outputs.mkdir(parents=True)
    return ToolBox(ws, sandbox=None, edits=EditEngine(ws), tests=None, outputs=outputs, max_file_bytes=10_000)


def run_tool(box: ToolBox, name: str, **args):
    """The tool's observation, finished within 5 s (a FIFO read would block forever)."""
    found = {}
    worker = threading.Thread(target=lambda: found.setdefault("obs", box.call(name, args)), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), f"{name} blocked"
    return found["obs"]


def test_outputs_folder_path_cannot_climb_out(box, host_secret):
    escape = f"{box.outputs}/{'../' * 12}{str(host_secret).lstrip('/')}"
    obs = run_tool(box, "read_file", path=escape)
    assert not obs.ok and SECRET not in obs.text


def test_outputs_folder_own_files_stay_readable(box):
    (box.outputs / "output-0001.txt").write_text("saved output\n")
    obs = run_tool(box, "read_file", path=str(box.outputs / "output-0001.txt"))
    assert obs.ok and "saved output" in obs.text


def test_outputs_folder_symlink_out_is_refused(box, host_secret):
    (box.outputs / "output-0002.txt").symlink_to(host_secret)
    obs = run_tool(box, "read_file", path=str(box.outputs / "output-0002.txt"))
    assert not obs.ok and SECRET not in obs.text


def test_absolute_host_path_is_refused(box, host_secret):
    obs = run_tool(box, "read_file", path=str(host_secret))
    assert not obs.ok and SECRET not in obs.text


@pytest.mark.parametrize("rel", ["../home/.ssh/id_rsa", "./../home/.ssh/id_rsa", "sub/../../home/.ssh/id_rsa"])
def test_dotdot_paths_are_refused(box, host_secret, rel):
    obs = run_tool(box, "read_file", path=rel)
    assert not obs.ok and SECRET not in obs.text


def test_search_does_not_follow_a_file_symlink_out(box, ws, host_secret):
    (ws / "notes.txt").symlink_to(host_secret)
    obs = run_tool(box, "search", pattern="SECRET")
    assert SECRET not in obs.text


def test_search_does_not_descend_a_directory_symlink_out(box, ws, host_secret):
    (ws / "keys").symlink_to(host_secret.parent)
    obs = run_tool(box, "search", pattern="SECRET")
    assert SECRET not in obs.text
    listed = run_tool(box, "list_files")
    assert "id_rsa" not in listed.text


def test_search_given_a_leaving_symlink_as_its_path_is_refused(box, ws, host_secret):
    (ws / "notes.txt").symlink_to(host_secret)
    obs = run_tool(box, "search", pattern="SECRET", path="notes.txt")
    assert not obs.ok and SECRET not in obs.text


def test_search_through_a_symlink_into_git_is_refused(box, ws):
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text(f"[remote]\n\turl = https://x:{SECRET}@example.com/r\n")
    (ws / "cfg").symlink_to(ws / ".git" / "config")
    assert SECRET not in run_tool(box, "search", pattern="url").text
    assert SECRET not in run_tool(box, "read_file", path="cfg").text


def test_symlink_inside_the_workspace_still_works(box, ws):
    (ws / "alias.py").symlink_to(ws / "app.py")
    assert "print('hi')" in run_tool(box, "read_file", path="alias.py").text
    assert "alias.py:1" in run_tool(box, "search", pattern="print").text


@pytest.mark.parametrize("name,args", [("read_file", {"path": "pipe"}), ("search", {"pattern": "x"}),
                                       ("search", {"pattern": "x", "path": "pipe"}),
                                       ("edit_file", {"path": "pipe", "old": "a", "new": "b"}),
                                       ("write_file", {"path": "pipe", "content": "x"}),
                                       ("list_files", {})])
def test_a_fifo_never_blocks_a_tool(box, ws, name, args):
    os.mkfifo(ws / "pipe")
    obs = run_tool(box, name, **args)
    if name in ("read_file", "edit_file", "write_file") or args.get("path"):
        assert not obs.ok
    assert "pipe" not in obs.text or "FIFO" in obs.text or "not" in obs.text


def test_a_unix_socket_is_not_read(tmp_path):
    import socket
    root = Path("/tmp") / f"ca-sock-{os.getpid()}"  # short: a socket path has ~100 bytes
    root.mkdir(exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "s"))
        box = ToolBox(root, sandbox=None, edits=EditEngine(root), tests=None, outputs=tmp_path / "out")
        obs = run_tool(box, "read_file", path="s")
        assert not obs.ok and "socket" in obs.text
    finally:
        sock.close()
        shutil.rmtree(root, ignore_errors=True)


def test_read_is_capped_not_whole(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5_000_000)
    assert len(read_capped(big, 1000)) == 1001
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(PathRefused):
        read_capped(tmp_path / "fifo", 10)
    (tmp_path / "link").symlink_to(big)
    with pytest.raises(PathRefused):
        read_capped(tmp_path / "link", 10)  # the resolver hands over real paths; a symlink here is a race


def test_oversized_file_is_refused_by_read_file(box, ws):
    (ws / "big.txt").write_text("y" * 20_000)
    obs = run_tool(box, "read_file", path="big.txt")
    assert not obs.ok and "over the read limit" in obs.text


def test_edit_through_leaving_symlink_is_refused(box, ws, host_secret):
    (ws / "k").symlink_to(host_secret)
    obs = run_tool(box, "edit_file", path="k", old=SECRET, new="pwned")
    assert not obs.ok and SECRET in host_secret.read_text()
    obs = run_tool(box, "write_file", path="k", content="pwned")
    assert not obs.ok and SECRET in host_secret.read_text()


# -- through the loop ---------------------------------------------------------------


def test_no_host_secret_in_tool_results_logs_or_jsonl(make_repo, host_secret, tmp_path):
    repo = make_repo({"calc.py": "def add(a, b):\n    return a + b\n",
                      "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"})
    sessions = tmp_path / "sessions"
    link = f"ln -s {host_secret} notes.txt && ln -s {host_secret.parent} keys && mkfifo pipe && echo made"

    def outputs_escape(messages):
        outputs = next(sessions.glob("*/outputs"), sessions / "x" / "outputs")
        return tool("read_file", path=f"{outputs}/{'../' * 12}{str(host_secret).lstrip('/')}")

    model = ScriptedModel([
        tool("update_plan", steps=[{"what": "look around"}]),
        tool("run_command", command=link),
        tool("search", pattern="SECRET|KEY"),
        tool("read_file", path="notes.txt"),
        tool("read_file", path="keys/id_rsa"),
        tool("read_file", path="pipe"),
        outputs_escape,
        tool("read_file", path=str(host_secret)),
        tool("list_files", path="keys"),
        tool("finish", summary="done"),
    ])
    sandbox = "bwrap" if shutil.which("bwrap") else "none"
    settings = load_settings(repo, {"sandbox": sandbox, "repo_map_tokens": 0, "test_cmd": "python -m pytest -q"}).settings
    events: list = []
    bus = EventBus()
    bus.subscribe(events.append)
    result = run_task(RunRequest(repo=repo, instruction="tidy", settings=settings, model=model, bus=bus,
                                 session_root=sessions))
    tool_results = [m.content or "" for call in model.calls for m in call["messages"] if m.role == "tool"]
    assert any("made" in text for text in tool_results), tool_results  # the attack really ran
    assert all(SECRET not in text for text in tool_results)
    for path in sessions.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in repr(events)
    assert SECRET not in repr(result.to_dict())
