"""An interrupted hook (Ctrl-C, SIGTERM, SIGKILL in the middle of the checks) loses
nothing: unstaged hunks, untracked files and the index stay byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeagent.hooks.precommit import cache_base
from test_hooks_support import CALC, PROJECT, hook_env, run_git, run_hook, tree_state

SLOW_TEST = "import time\nfrom calc import add\n\n\ndef test_slow():\n    time.sleep(60)\n"


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def wait_for_test_run(timeout: float = 60) -> Path:
    """The scratch area of the running hook, once its test command has started."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for area in cache_base().glob("run-*"):
            if processes_mentioning(str(area)):
                return area
        time.sleep(0.05)
    raise AssertionError("the hook never started its tests")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["INT", "TERM", "KILL"])
def test_a_hook_interrupted_mid_check_loses_nothing(make_repo, sig):
    files = dict(PROJECT)
    files["tests/test_slow.py"] = SLOW_TEST
    repo = make_repo(files)
    (repo / "calc.py").write_text(CALC + "# staged\n")
    run_git(repo, "add", "calc.py")
    (repo / "calc.py").write_text(CALC + "# staged\n# unstaged hunk\n")
    (repo / "untracked.bin").write_bytes(bytes(range(256)))
    os.symlink("calc.py", repo / "link-untracked")
    before = tree_state(repo)

    hook = subprocess.Popen([sys.executable, "-m", "codeagent.hooks"], cwd=repo,
                            env=hook_env(CODEAGENT_SANDBOX="none"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        area = wait_for_test_run()
        hook.send_signal(sig)
        _, err = hook.communicate(timeout=30)
    finally:
        if hook.poll() is None:
            hook.kill()
    assert tree_state(repo) == before
    if sig == signal.SIGKILL:
        assert hook.returncode == -signal.SIGKILL
        for pid in processes_mentioning(str(area)):  # the orphaned test run of the killed hook
            os.kill(pid, signal.SIGKILL)
        assert area.exists()  # left behind by SIGKILL, swept by the next run:
        proc = run_hook(repo, "--budget", "2", env=hook_env(CODEAGENT_SANDBOX="none"))
        assert proc.returncode == 1 and not area.exists()
    else:
        assert hook.returncode == 130, err
        assert not area.exists()
        time.sleep(0.2)
        assert processes_mentioning(str(area)) == []  # the test run was killed with it
    assert tree_state(repo) == before
