"""Adversarial suite, credentials class: tokens kept in the repository's git config (the
way CI checkouts store them) must not reach the sandbox, the model or the logs; token
formats must be redacted from session logs and JSONL whatever field they sit in."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.redact import Redactor
from codeagent.runner import RunRequest, run_task
from codeagent.sandbox import open_sandbox
from codeagent.sandbox.gitconfig import sanitise
from repo_helpers import git
from test_sandbox_bwrap import require_bwrap

URL_TOKEN = "Zq81remoteUrlTokenValue"
HEADER_TOKEN = "aGVhZGVyVG9rZW4xMjM0NTY3"
HELPER_TOKEN = "helperTok9911"

TOKENS = {
    "github classic": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github fine-grained": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "gitlab": "glpat-" + "xYz12_abCDefGHijKLmn34",
    "aws": "AKIA" + "IOSFODNN7EXAMPLQ",
    "slack": "xoxb-" + "123456789012-abcdefghijkl",
    "openai": "sk-proj-" + "abcdefghijklmnopqrstuvwx1234",
    "anthropic": "sk-ant-api03-" + "abcdefghijklmnopqrstuvwx1234",
    "hugging face": "hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH",
}


def hostile_config(repo) -> None:
    git(repo, "remote", "add", "origin", f"https://x-access-token:{URL_TOKEN}@github.example/o/r.git")
    git(repo, "config", "http.https://github.example/.extraheader", f"AUTHORIZATION: basic {HEADER_TOKEN}")
    git(repo, "config", "credential.helper", f"!f() {{ echo password={HELPER_TOKEN}; }}; f")
    git(repo, "config", f"url.https://oauth2:{URL_TOKEN}@gitlab.example/.insteadOf", "https://gitlab.example/")


def test_sanitise_drops_every_credential_shape():
    text = (f'[remote "origin"]\n\turl = https://x:{URL_TOKEN}@h/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
            f'[http "https://h/"]\n\textraheader = AUTHORIZATION: basic {HEADER_TOKEN}\n'
            f'[credential]\n\thelper = store\n\tusername = me\n'
            f'[url "https://u:{URL_TOKEN}@h/"]\n\tinsteadOf = https://h/\n'
            f'[include]\n\tpath = /home/me/.secret-gitconfig\n'
            f'[core]\n\tbare = false\n\tsshCommand = ssh\n[github]\n\ttoken = {HELPER_TOKEN} \\\n\tmore\n')
    clean = sanitise(text)
    for secret in (URL_TOKEN, HEADER_TOKEN, HELPER_TOKEN, "secret-gitconfig", "helper"):
        assert secret not in clean, secret
    assert "url = https://h/r.git" in clean and "bare = false" in clean and "fetch = " in clean


def test_sandbox_sees_a_sanitised_git_config(make_repo, tmp_path):
    require_bwrap()
    repo = make_repo({"a.py": "x = 1\n"})
    hostile_config(repo)
    ws = tmp_path / "ws"
    git(repo, "worktree", "add", "-q", "--detach", str(ws), "HEAD")
    box = open_sandbox("bwrap", ws, timeout=30, scratch=tmp_path / "scratch")
    result = box.run("git config -l; git remote -v; cat \"$(git rev-parse --git-common-dir)/config\"; "
                     "cat /etc/gitconfig 2>/dev/null; git status --short && echo STATUS-OK")
    for secret in (URL_TOKEN, HEADER_TOKEN, HELPER_TOKEN):
        assert secret not in result.output, result.output
    assert "STATUS-OK" in result.output and "github.example/o/r.git" in result.output
    assert URL_TOKEN in (repo / ".git" / "config").read_text()  # the user's own config is untouched


def test_sandbox_of_a_plain_repo_sees_a_sanitised_git_config(make_repo, tmp_path):
    require_bwrap()
    repo = make_repo({"a.py": "x = 1\n"})
    hostile_config(repo)
    box = open_sandbox("bwrap", repo, timeout=30, scratch=tmp_path / "scratch")
    result = box.run("git config -l; cat .git/config")
    assert URL_TOKEN not in result.output and HEADER_TOKEN not in result.output


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_token_formats_are_redacted_from_log_lines(kind):
    token = TOKENS[kind]
    redactor = Redactor()
    line = redactor.dumps({"kind": "tool_result", "text": f"found {token} in the output"})
    assert token not in line and "****" in line


@pytest.mark.parametrize("text,secret", [
    (f"git push https://x-access-token:{URL_TOKEN}@github.com/o/r", URL_TOKEN),
    (f"clone https://{URL_TOKEN}@gitlab.com/o/r", URL_TOKEN),
    (f"extraheader = AUTHORIZATION: basic {HEADER_TOKEN}", HEADER_TOKEN),
    (f"Authorization: Bearer {HEADER_TOKEN}", HEADER_TOKEN),
])
def test_urls_and_headers_are_redacted(text, secret):
    assert secret not in Redactor().text(text)
    assert secret not in Redactor().dumps({"output": text})


def test_jsonl_output_is_redacted():
    from codeagent.events import Event
    from codeagent.ui.jsonl import JsonlRenderer

    stream = io.StringIO()
    event = Event(kind="command_result", data={"output": f"echo {TOKENS['github classic']}"})
    JsonlRenderer(stream)(event)
    assert TOKENS["github classic"] not in stream.getvalue()
    assert json.loads(stream.getvalue())  # still one valid JSON object


def test_through_the_loop_no_credential_reaches_model_or_log(make_repo, tmp_path):
    repo = make_repo({"calc.py": "def add(a, b):\n    return a + b\n",
                      "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"})
    hostile_config(repo)
    sessions = tmp_path / "sessions"
    gh = TOKENS["github classic"]
    model = ScriptedModel([
        tool("update_plan", steps=[{"what": "look"}]),
        tool("run_command", command="git remote -v; git config -l; echo READ-DONE"),
        tool("run_command", command=f"echo {gh}"),
        tool("finish", summary="done"),
    ])
    sandbox = "bwrap" if shutil.which("bwrap") else "none"
    settings = load_settings(repo, {"sandbox": sandbox, "repo_map_tokens": 0, "test_cmd": "python -m pytest -q"}).settings
    bus = EventBus()
    jsonl = io.StringIO()
    from codeagent.ui.jsonl import JsonlRenderer
    bus.subscribe(JsonlRenderer(jsonl))
    run_task(RunRequest(repo=repo, instruction="tidy", settings=settings, model=model, bus=bus, session_root=sessions))
    tool_results = "\n".join(m.content or "" for c in model.calls for m in c["messages"] if m.role == "tool")
    assert "READ-DONE" in tool_results
    if sandbox == "bwrap":
        assert URL_TOKEN not in tool_results and HEADER_TOKEN not in tool_results
    logged = "\n".join(p.read_text(errors="replace") for p in sessions.rglob("*") if p.is_file())
    for secret in (URL_TOKEN, HEADER_TOKEN, gh):
        assert secret not in logged
        assert secret not in jsonl.getvalue()


def test_a_clean_git_config_costs_no_mount(tmp_path):
    from codeagent.sandbox.gitconfig import overlay_args

    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    clean.mkdir()
    dirty.mkdir()
    (clean / "config").write_text('[core]\n\tbare = false\n[remote "origin"]\n\turl = https://h/r.git\n')
    (dirty / "config").write_text(f'[remote "origin"]\n\turl = https://x:{URL_TOKEN}@h/r.git\n')
    args = overlay_args([clean, dirty], tmp_path)
    assert str(clean / "config") not in args and str(dirty / "config") in args
