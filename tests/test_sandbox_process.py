"""The unsandboxed backend and the shared execution core: allowlisted environment,
streaming output cap, timeouts and leftovers killed, cwd kept in the workspace."""

from __future__ import annotations

import pytest

from codeagent.errors import SandboxError
from codeagent.sandbox.execute import CappedBuffer
from codeagent.sandbox.process import ProcessSandbox, cap_output
from test_sandbox_bwrap import sandboxed_pids, wait_gone


def test_capped_buffer_keeps_head_and_tail():
    buffer = CappedBuffer(10)
    for chunk in (b"abc", b"defgh", b"ij" * 1000, b"VWXYZ"):
        buffer.add(chunk)
    assert buffer.total == 3 + 5 + 2000 + 5
    assert buffer.dropped == buffer.total - 10
    text = buffer.text()
    assert text.startswith("abcde") and text.endswith("jVWXYZ"[-5:])
    assert f"{buffer.dropped} bytes" in text
    assert cap_output(b"short", 100) == ("short", 0)


def test_none_backend_warns_and_filters_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-process-test")
    monkeypatch.setenv("LANG", "C.UTF-8")
    box = ProcessSandbox(tmp_path)
    assert "unsandboxed" in box.warning
    result = box.run("env", env={"GITHUB_TOKEN": "ghp-process-test", "OK_VAR": "1"})
    assert result.exit_code == 0
    assert "sk-process-test" not in result.output and "ghp-process-test" not in result.output
    assert "OK_VAR=1" in result.output and "LANG=C.UTF-8" in result.output


def test_none_backend_output_cap_and_exit_code(tmp_path):
    box = ProcessSandbox(tmp_path, output_cap=1000)
    result = box.run("head -c 5000000 /dev/zero | tr '\\0' x; exit 7")
    assert result.exit_code == 7
    assert result.dropped_bytes == 5_000_000 - 1000
    assert result.limits_hit == ["output"]


def test_none_backend_timeout_and_leftovers_killed(tmp_path):
    box = ProcessSandbox(tmp_path)
    result = box.run("sleep 1003.1 & echo started")
    assert result.exit_code == 0 and result.duration < 5
    assert wait_gone("1003.1") == []
    result = box.run(["sh", "-c", "sleep 1003.2 & sleep 1003.3"], timeout=0.5)
    assert result.timed_out and result.exit_code is None and result.limits_hit == ["timeout"]
    assert "timed out" in result.describe()
    assert wait_gone("1003.") == []
    assert not sandboxed_pids("1003.")


def test_cwd_must_stay_in_workspace(tmp_path):
    (tmp_path / "ws" / "sub").mkdir(parents=True)
    box = ProcessSandbox(tmp_path / "ws")
    assert box.run("pwd", cwd=tmp_path / "ws" / "sub").output.strip() == str(tmp_path / "ws" / "sub")
    with pytest.raises(SandboxError, match="outside the workspace"):
        box.run("pwd", cwd=tmp_path)
    with pytest.raises(SandboxError, match="empty command"):
        box.run([])
