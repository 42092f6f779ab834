"""The cgroup spawner on its own: it starts commands, reports their status, keeps them
reapable until told, dies with the agent, and says why when it cannot join its group."""

from __future__ import annotations

import os
import signal
import time

import pytest

from codeagent.sandbox.spawner import Spawner

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def test_runs_commands_one_after_another(tmp_path):
    spawner = Spawner([], file_size=1 << 20)
    try:
        for word in ("one", "two"):
            child = spawner.start(["/bin/sh", "-c", f"echo {word}; pwd; exit 3"], str(tmp_path), ENV)
            assert child.stdout.read().decode() == f"{word}\n{tmp_path}\n"
            assert child.wait() == 3
        child = spawner.start(["/bin/sh", "-c", "ulimit -f; ulimit -c"], "/", ENV)
        assert child.stdout.read().decode().split() == [str((1 << 20) // 512), "0"]
        assert child.wait() == 0
    finally:
        spawner.close()
    assert spawner.proc.returncode is not None


def test_a_killed_command_reports_the_signal(tmp_path):
    spawner = Spawner([], file_size=1 << 20)
    try:
        child = spawner.start(["/bin/sleep", "30"], str(tmp_path), ENV)
        assert child.poll() is None
        os.killpg(child.pid, signal.SIGKILL)  # its own session: the agent kills the group
        assert child.wait() == -signal.SIGKILL
    finally:
        spawner.close()


def test_a_missing_program_is_an_error_and_the_spawner_goes_on(tmp_path):
    spawner = Spawner([], file_size=1 << 20)
    try:
        with pytest.raises(OSError, match="cannot start /no/such/program"):
            spawner.start(["/no/such/program"], str(tmp_path), ENV)
        assert spawner.alive()
        assert spawner.start(["/bin/true"], str(tmp_path), ENV).wait() == 0
    finally:
        spawner.close()


def test_cannot_join_the_group_says_why(tmp_path):
    spawner = Spawner([str(tmp_path / "no-such-group" / "cgroup.procs")], file_size=1 << 20)
    try:
        with pytest.raises(OSError, match="sandbox spawner|exited"):
            spawner.start(["/bin/true"], str(tmp_path), ENV)
    finally:
        spawner.close()


def gone(pid: int, seconds: float = 5.0) -> bool:
    """Whether `pid` exits (or is a zombie waiting for init) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if "State:\tZ" in open(f"/proc/{pid}/status").read():
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_the_agent_going_away_kills_the_running_command(tmp_path):
    spawner = Spawner([], file_size=1 << 20)
    child = spawner.start(["/bin/sleep", "30"], str(tmp_path), ENV)
    spawner.sock.close()  # what the kernel does when the agent dies
    spawner.proc.wait(timeout=5)
    assert gone(child.pid)
