"""Session log: files, redaction, state, listing, prefixes, SIGKILLed runs, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codeagent.errors import ConfigError
from codeagent.events import Event, EventBus
from codeagent.session import (
    SessionLog,
    latest_unfinished,
    list_sessions,
    load_session,
)

KEY = "sk-proj-" + "A1b2C3d4E5" * 5
OTHER_KEY = "sk-" + "Zz9" * 10


def new_log(root: Path, repo: Path, instruction: str = "fix the bug", **config) -> SessionLog:
    return SessionLog.create(root, repo=repo, instruction=instruction,
                             config={"model": "m", "api_key": KEY, **config}, secrets=[KEY])


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_session_files_and_redaction(tmp_path, make_repo):
    repo = make_repo({"a": "1\n"})
    log = new_log(tmp_path / "s", repo, instruction=f"use key {KEY} please")
    bus = EventBus()
    bus.subscribe(log.write)
    bus.emit("tool_result", step=1, id="c1", name="run_command", ok=True,
             output=f"env: OPENAI_API_KEY={KEY}\nother {OTHER_KEY}")
    log.write(Event("tool_result", {"nested": {"deep": [KEY]}}))  # the log redacts whatever it is given
    log.write(Event("model_call", {"headers": {"authorization": "Bearer abcdefgh123", "api_key": "whatever-it-is"}}))
    log.write(Event("usage", {"prompt_tokens": 12, "max_tokens": 5}))
    log.save_config({"api_key": KEY, "precommit": {"token": "short-but-secret"}, "model": "m"})
    log.save_result({"status": "done", "summary": f"done with {KEY}", "path": Path("/x")})
    log.save_state({"messages": [{"role": "user", "content": KEY}], "run_id": "r"})
    patch = log.save_patch(f"+key = '{KEY}'\n")
    log.mark_status("done")
    log.close()
    data = all_bytes(log.dir)
    assert KEY.encode() not in data and OTHER_KEY.encode() not in data
    assert b"abcdefgh123" not in data and b"whatever-it-is" not in data and b"short-but-secret" not in data
    assert sorted(p.name for p in log.dir.iterdir()) == [
        "config.json", "events.jsonl", "final.patch", "meta.json", "result.json", "state.json"]
    events = [json.loads(line) for line in (log.dir / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events] == ["tool_result", "tool_result", "model_call", "usage"]
    assert "****" in events[0]["output"] and events[3]["prompt_tokens"] == 12
    assert json.loads((log.dir / "config.json").read_text())["model"] == "m"
    assert log.load_state() == {"messages": [{"role": "user", "content": "****"}], "run_id": "r"}
    assert patch.read_text() == "+key = '****'\n"


def test_env_secrets_are_redacted(tmp_path, make_repo, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_livetokenvalue123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
    monkeypatch.setenv("EDITOR_THEME", "solarized-dark")
    log = SessionLog.create(tmp_path, repo=make_repo({"a": "1"}), instruction="x", config={}, secrets=[])
    log.write({"kind": "tool_result", "output": "ghp_livetokenvalue123 wJalrXUtnFEMI/K7MDENG solarized-dark"})
    log.close()
    data = all_bytes(log.dir)
    assert b"ghp_livetokenvalue123" not in data and b"wJalrXUtnFEMI" not in data
    assert b"solarized-dark" in data  # only secret-named variables are secrets


def test_meta_state_and_status(tmp_path, make_repo):
    repo = make_repo({"a": "1"})
    log = new_log(tmp_path, repo)
    meta = json.loads((log.dir / "meta.json").read_text())
    assert meta["status"] == "running" and meta["pid"] == os.getpid() and meta["repo"] == str(repo.resolve())
    assert log.load_state() is None
    log.save_state({"step": 1})
    log.save_state({"step": 2})
    assert log.load_state() == {"step": 2}
    assert not [p for p in log.dir.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ValueError):
        log.mark_status("finished-ish")
    log.mark_status("not_done")
    assert list_sessions(tmp_path)[0].status == "not_done"


def test_ids_sort_by_time_and_prefixes(tmp_path, make_repo):
    repo = make_repo({"a": "1"})
    first = new_log(tmp_path, repo, "first")
    second = new_log(tmp_path, repo, "second")
    ids = [i.id for i in list_sessions(tmp_path)]
    assert ids == sorted(ids, reverse=True) and set(ids) == {first.id, second.id}
    assert len(first.id) == len("20261121-235959-ab12cd") and first.id[8] == "-"
    assert load_session(first.id[:-2], tmp_path).info.id == first.id  # unique prefix
    shared = os.path.commonprefix([first.id, second.id])
    with pytest.raises(ConfigError, match="matches 2 sessions"):
        load_session(shared, tmp_path)
    with pytest.raises(ConfigError, match="no session matches"):
        load_session("1999", tmp_path)
    with pytest.raises(ConfigError):
        load_session("", tmp_path)


def test_list_filters_by_repo(tmp_path, make_repo):
    one, two = make_repo({"a": "1"}, name="one"), make_repo({"a": "1"}, name="two")
    new_log(tmp_path / "s", one, "in one")
    new_log(tmp_path / "s", two, "in two")
    assert [i.instruction for i in list_sessions(tmp_path / "s", repo=one)] == ["in one"]
    (one / "sub").mkdir()
    assert [i.instruction for i in list_sessions(tmp_path / "s", repo=one / "sub")] == ["in one"]
    assert len(list_sessions(tmp_path / "s")) == 2
    assert list_sessions(tmp_path / "nothing-here") == []


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from codeagent.session import SessionLog
    log = SessionLog.create(Path(sys.argv[1]), repo=Path(sys.argv[2]), instruction=sys.argv[3], config={}, secrets=[])
    log.write({"kind": "tool_call", "name": "run_tests"})
    log.save_state({"run_id": "r", "steps": 3})
    log._events.write('{"kind": "tool_res')  # a line cut off by the kill
    log._events.flush()
    print(log.id, flush=True)
    time.sleep(60)
""")


def spawn(root: Path, repo: Path, instruction: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(repo), instruction],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_sigkilled_run_reads_interrupted_and_resumes(tmp_path, make_repo):
    repo = make_repo({"a": "1"})
    done = new_log(tmp_path, repo, "finished one")
    done.mark_status("done")
    proc, sid = spawn(tmp_path, repo, "killed one")
    live, live_id = spawn(tmp_path, repo, "still running")
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        statuses = {i.id: (i.status, i.recorded_status) for i in list_sessions(tmp_path, repo)}
        assert statuses[sid] == ("interrupted", "running")
        assert statuses[live_id] == ("running", "running")
        assert latest_unfinished(repo, tmp_path).id == sid
        record = load_session(sid, tmp_path)
        assert record.bad_lines == 1 and record.events[0]["name"] == "run_tests"
        assert record.state == {"run_id": "r", "steps": 3}
        resumed = SessionLog.reopen(record.dir)
        resumed.write({"kind": "resume"})
        resumed.close()
        record = load_session(sid, tmp_path)
        assert record.info.status == "running" and record.meta["resumes"] == 1
        assert [e["kind"] for e in record.events] == ["tool_call", "resume"] and record.bad_lines == 1
        assert latest_unfinished(repo, tmp_path) is None
    finally:
        live.kill()
        live.wait()
    assert latest_unfinished(repo, tmp_path).id == live_id  # its process is gone now too


def run_cli(*args: str, cwd: Path, monkeypatch) -> "object":
    """In-process through typer's CliRunner (the exit-code path goes through a real process below)."""
    import typer
    from typer.testing import CliRunner

    from codeagent.cli import sessions_cmd

    app = typer.Typer()
    sessions_cmd.register(app)
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, ["sessions", *args])


def test_cli_list_and_show(tmp_path, make_repo, monkeypatch):
    repo, other = make_repo({"a": "1"}, name="repo"), make_repo({"a": "1"}, name="other")
    log = SessionLog.create(None, repo=repo, instruction="add a --json flag", config={"api_key": KEY}, secrets=[KEY])
    log.write({"kind": "tool_call", "name": "edit_file", "arguments": {"path": "a"}})
    log.save_patch("diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n-1\n+2\n")
    log.save_result({"status": "done", "reason": "tests_pass", "exit_code": 0, "steps": 4,
                     "usage": {"prompt_tokens": 100, "completion_tokens": 20, "cost": 0.01}, "applied": True})
    log.mark_status("done")
    SessionLog.create(None, repo=other, instruction="elsewhere", config={}, secrets=[]).mark_status("crashed")

    out = run_cli("list", cwd=repo, monkeypatch=monkeypatch)
    assert out.exit_code == 0 and log.id in out.stdout and "elsewhere" not in out.stdout
    out = run_cli("list", "--all", "--json", cwd=repo, monkeypatch=monkeypatch)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["instruction"] for r in rows} == {"add a --json flag", "elsewhere"} and rows[0]["kind"] == "session_info"

    out = run_cli("show", log.id[:-1], cwd=tmp_path, monkeypatch=monkeypatch)
    assert out.exit_code == 0, out.stderr
    assert "tests_pass" in out.stdout and "edit_file" in out.stdout and "1 files" in out.stdout
    assert KEY not in out.stdout
    shown = json.loads(run_cli("show", log.id, "--json", cwd=repo, monkeypatch=monkeypatch).stdout)
    assert shown["kind"] == "session_record" and shown["config"]["api_key"] == "****"
    assert run_cli("show", log.id, "--patch", cwd=repo, monkeypatch=monkeypatch).stdout.endswith("+2\n")
    odd = SessionLog.create(None, repo=repo, instruction="keep [bold]x[/] literally", config={}, secrets=[])
    assert "keep [bold]x[/] literally" in run_cli("show", odd.id, cwd=repo, monkeypatch=monkeypatch).stdout
    empty = run_cli("list", "--session-dir", str(tmp_path / "none"), cwd=repo, monkeypatch=monkeypatch)
    assert empty.exit_code == 0 and "no sessions" in empty.stderr


def test_cli_unknown_session_exits_2(make_repo):
    repo = make_repo({"a": "1"})
    out = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "sessions", "show", "nope"], cwd=repo,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no session matches" in out.stderr


def test_run_ids_to_keep(tmp_path, make_repo):
    from codeagent.session import run_ids_to_keep

    repo = make_repo({"a": "1"})
    running = new_log(tmp_path, repo)
    running.save_state({"run_id": "ws-running"})
    finished = new_log(tmp_path, repo)
    finished.save_state({"run_id": "ws-finished"})
    finished.mark_status("done")
    assert run_ids_to_keep(repo, tmp_path) == {running.id, "ws-running"}


def test_cli_clean_keeps_resumable_runs(tmp_path, make_repo, monkeypatch):
    from codeagent.workspace import Workspace
    from tests.conftest import git

    repo = make_repo({"a": "1"})
    resumable = new_log(tmp_path, repo)
    resumable.save_state({"run_id": "ws-resumable"})
    resumable.mark_status("interrupted")
    kept = Workspace.open(repo, run_id="ws-resumable")
    orphan = Workspace.open(repo, run_id="ws-orphan")
    for ws in (kept, orphan):  # as if their processes had been killed
        git(repo, "worktree", "unlock", str(ws.path))
        git(repo, "worktree", "lock", "--reason", f"codeagent run={ws.run_id} pid=999999999 host={os.uname().nodename}",
            str(ws.path))
    out = run_cli("clean", "--session-dir", str(tmp_path), cwd=repo, monkeypatch=monkeypatch)
    assert out.exit_code == 0 and "ws-orphan" in out.stderr
    assert kept.path.exists() and not orphan.path.exists()
    out = run_cli("clean", "--discard-unfinished", "--session-dir", str(tmp_path), cwd=repo, monkeypatch=monkeypatch)
    assert "ws-resumable" in out.stderr and not kept.path.exists()


@pytest.mark.parametrize("secret", ["hunter2-password-value", 'quote"and\\slash-secret', "ünïcode-secret-x"])
@pytest.mark.parametrize("value", [
    {"turns": [[{"role": "tool", "content": "found hunter2-password-value and " + OTHER_KEY}]], "prompt_tokens": 3},
    {"config": {"Authorization": "Bearer xyz", "nested": [{"github_token": "ghp_abc"}]}},
    {"text": 'a "token": inside a string, and quote"and\\slash-secret, ünïcode-secret-x'},
    {"api_key ": "space before the quote", "tokens": ["a", "b"], "n": 1.5, "t": (1, 2)},
])
def test_redaction_fast_path_equals_the_full_walk(value, secret):
    from codeagent.redact import Redactor

    redactor = Redactor([secret])
    full = redactor.text(json.dumps(redactor.obj(json.loads(json.dumps(value)))))
    assert redactor.dumps(value) == full
    assert secret not in redactor.dumps(value) and OTHER_KEY not in redactor.dumps(value)
