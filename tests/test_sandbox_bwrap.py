"""Adversarial tests of the bubblewrap backend: each tries an escape and proves it fails.

They run the real bwrap over a real git worktree. Without bubblewrap they skip, except
in CI (CI=true), where its absence is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from codeagent.sandbox import open_sandbox
from codeagent.sandbox.probe import bwrap_status
from repo_helpers import git


def require_bwrap() -> None:
    status = bwrap_status()
    if status.usable:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"bubblewrap is required in CI: {status.problem}")
    pytest.skip(f"bubblewrap unavailable: {status.problem}")


@pytest.fixture(autouse=True)
def _bwrap():
    require_bwrap()


@pytest.fixture
def user_repo(make_repo):
    return make_repo({"app.py": "print('hello')\n", "README.md": "user's checkout\n"})


@pytest.fixture
def workspace(user_repo, tmp_path):
    """A git worktree of the user's repo, as the agent uses (its .git is a file)."""
    ws = tmp_path / "ws"
    git(user_repo, "worktree", "add", "-q", "--detach", str(ws), "HEAD")
    return ws


@pytest.fixture
def small_profile(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(textwrap.dedent("""
        extends = "default"
        [limits]
        memory_mb = 256
        processes = 64
        file_size_mb = 1
        output_bytes = 10000
    """))
    return path


@pytest.fixture
def box(workspace, small_profile, tmp_path):
    return open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "scratch", profile=str(small_profile))


def sandboxed_pids(marker: str) -> list[int]:
    """Host pids whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "pytest" not in cmdline:
            found.append(int(entry.name))
    return found


def wait_gone(marker: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = sandboxed_pids(marker)
        if not left:
            return []
        time.sleep(0.05)
    return sandboxed_pids(marker)


def test_workspace_writable_and_cwd_is_workspace(box, workspace):
    result = box.run("pwd && echo made > new.txt && echo scratch > \"$SCRATCH/x\"",
                     env={"SCRATCH": str(box.scratch)})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(workspace)
    assert (workspace / "new.txt").read_text() == "made\n"
    assert (box.scratch / "x").read_text() == "scratch\n"


def test_write_to_etc_fails(box):
    result = box.run("echo pwned > /etc/codeagent-escape; echo pwned >> /etc/hosts")
    assert "Read-only file system" in result.output
    assert not Path("/etc/codeagent-escape").exists()
    assert "pwned" not in Path("/etc/hosts").read_text()


def test_write_to_real_home_fails(box):
    home = Path(os.path.expanduser("~"))
    target = home / f"codeagent-escape-{os.getpid()}"
    result = box.run(f"echo pwned > {target}; echo inside-home=$HOME; touch $HOME/ok && echo home-writable")
    assert not target.exists()
    assert f"inside-home={home}" not in result.output  # a fresh HOME, not the user's
    assert "home-writable" in result.output


def test_user_checkout_is_invisible_and_untouched(box, user_repo):
    result = box.run(f"cat {user_repo}/app.py; echo pwned > {user_repo}/app.py; echo pwned > {user_repo}/new.py")
    assert "hello" not in result.output
    assert (user_repo / "app.py").read_text() == "print('hello')\n"
    assert not (user_repo / "new.py").exists()


def test_symlink_pointing_outside_cannot_be_written_through(box, workspace, tmp_path, user_repo):
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("original\n")
    (workspace / "to_file").symlink_to(victim)
    (workspace / "to_dir").symlink_to(victim.parent)
    (workspace / "to_checkout").symlink_to(user_repo / "app.py")
    (workspace / "to_etc").symlink_to("/etc")
    result = box.run("echo pwned > to_file; echo pwned > to_dir/new.txt; echo pwned > to_checkout; "
                     "echo pwned > to_etc/codeagent-escape; cat to_file")
    assert victim.read_text() == "original\n"
    assert not (victim.parent / "new.txt").exists()
    assert (user_repo / "app.py").read_text() == "print('hello')\n"
    assert not Path("/etc/codeagent-escape").exists()
    assert "original" not in result.output  # the target is not even readable


def _listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []

    def accept():
        server.settimeout(10)
        try:
            while True:
                conn, _ = server.accept()
                accepted.append(conn)
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    return server, accepted


CONNECT = "python3 -c \"import socket,sys; socket.create_connection(('{host}', {port}), timeout=3); print('CONNECTED')\""


def test_tcp_to_host_loopback_fails(box):
    server, accepted = _listener()
    port = server.getsockname()[1]
    try:
        result = box.run(CONNECT.format(host="127.0.0.1", port=port))
        assert "CONNECTED" not in result.output
        assert "Connection refused" in result.output
        assert not accepted
    finally:
        server.close()


def test_network_profile_reaches_loopback(workspace, tmp_path):
    """The same probe succeeds when the user asks for network: the test above can fail."""
    server, accepted = _listener()
    port = server.getsockname()[1]
    try:
        net = open_sandbox("bwrap", workspace, allow_network=True, timeout=20, scratch=tmp_path / "s")
        result = net.run(CONNECT.format(host="127.0.0.1", port=port))
        assert "CONNECTED" in result.output, result.output
    finally:
        server.close()


def test_tcp_to_outside_address_fails(box):
    result = box.run(CONNECT.format(host="192.0.2.1", port=80))  # TEST-NET-1, never routed
    assert "CONNECTED" not in result.output
    assert "Network is unreachable" in result.output
    interfaces = [line.split(":")[0].strip() for line in box.run("cat /proc/net/dev").output.splitlines()[2:]]
    assert interfaces == ["lo"]


def test_api_keys_and_agents_not_in_environment(box, monkeypatch):
    secrets = {"OPENAI_API_KEY": "sk-sandbox-test-1", "GITHUB_TOKEN": "ghp-sandbox-test-2",
               "SSH_AUTH_SOCK": "/tmp/ssh-sandbox-test-3", "GPG_AGENT_INFO": "gpg-sandbox-test-4",
               "AWS_SECRET_ACCESS_KEY": "aws-sandbox-test-5", "MY_SERVICE_KEY": "svc-sandbox-test-6"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    result = box.run("env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
                     env={"OPENAI_API_KEY": "sk-sandbox-test-7", "SAFE": "visible"})
    assert "SAFE=visible" in result.output  # the probe does print the environment
    for value in [*secrets.values(), "sk-sandbox-test-7"]:
        assert value not in result.output


def test_fork_bomb_is_bounded_and_machine_stays_usable(box):
    marker = "codeagentforkbomb"
    outcomes: list[object] = []
    bombing = threading.Event()

    def host_forks() -> None:  # the host keeps starting processes while the bomb runs
        while not bombing.is_set():
            try:
                outcomes.append(subprocess.run(["true"], timeout=10).returncode)
            except (OSError, subprocess.SubprocessError) as exc:
                outcomes.append(exc)
            time.sleep(0.05)

    watcher = threading.Thread(target=host_forks)
    watcher.start()
    try:
        result = box.run(f"{marker}() {{ {marker} | {marker} & }}; {marker}; sleep 1; echo survived", timeout=15)
    finally:
        bombing.set()
        watcher.join()
    assert "processes" in result.limits_hit
    assert "process limit of 64" in result.output
    assert not result.timed_out
    assert outcomes and all(outcome == 0 for outcome in outcomes), outcomes
    assert wait_gone(marker) == []
    after = box.run("echo fine")  # the same sandbox (and reused cgroup) runs on, cleanly
    assert after.exit_code == 0 and after.limits_hit == []


def test_background_process_left_behind_is_killed(box):
    result = box.run("sleep 1000.123 & echo started", timeout=10)
    assert result.exit_code == 0 and "started" in result.output
    assert result.duration < 5
    assert wait_gone("1000.123") == []


def test_timeout_kills_the_whole_tree(box):
    result = box.run("sleep 1001.5 & sleep 1001.6 & sleep 1001.7", timeout=1)
    assert result.timed_out and result.exit_code is None
    assert "timeout" in result.limits_hit
    assert result.duration < 5
    assert wait_gone("1001.") == []


@pytest.mark.slow
def test_gigabyte_of_output_is_capped(box):
    result = box.run("yes codeagent | head -c 1000000000; echo; echo THE-END")
    assert result.exit_code == 0
    assert "output" in result.limits_hit
    assert result.dropped_bytes > 999_000_000
    assert len(result.output) < 12_000
    assert result.output.startswith("codeagent\n")
    assert result.output.rstrip().endswith("THE-END")
    assert f"{result.dropped_bytes} bytes" in result.describe()


def test_memory_hog_is_stopped_and_reported(box):
    result = box.run("python3 -c \"x = bytearray(1 << 30); print('ALLOCATED')\"")
    assert "ALLOCATED" not in result.output
    assert result.exit_code != 0
    assert "memory" in result.limits_hit
    assert "memory limit of 256 MiB" in result.output
    assert box.run("python3 -c \"x = bytearray(64 << 20)\"").limits_hit == []


def test_memory_hog_without_cgroup_uses_rlimit(workspace, tmp_path):
    profile = tmp_path / "nocg.toml"
    profile.write_text('extends = "default"\n[limits]\nmemory_mb = 256\nuse_cgroup = false\n')
    box = open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "s", profile=str(profile))
    result = box.run("python3 -c \"x = bytearray(1 << 30); print('ALLOCATED')\"")
    assert "ALLOCATED" not in result.output
    assert "MemoryError" in result.output
    assert "memory" in result.limits_hit


def test_file_size_limit(box, workspace):
    result = box.run("head -c 5000000 /dev/zero > big.bin; echo status=$?")
    assert "file_size" in result.limits_hit
    assert (workspace / "big.bin").stat().st_size <= 1 << 20


def test_git_metadata_of_worktree_is_read_only(box, workspace, user_repo):
    (workspace / "app.py").write_text("print('changed')\n")
    config_before = (user_repo / ".git" / "config").read_text()
    dotgit_before = (workspace / ".git").read_text()
    result = box.run(textwrap.dedent("""
        git status --short; git diff --stat
        mkdir -p .git/hooks; echo 'touch /tmp/pwned' > .git/hooks/pre-commit
        echo '[core] hooksPath = /tmp' >> .git/config
        common=$(git rev-parse --git-common-dir); gd=$(git rev-parse --git-dir)
        echo 'touch /tmp/pwned' > "$common/hooks/pre-commit"
        echo '[core] hooksPath = /tmp' >> "$common/config"
        echo '[core] hooksPath = /tmp' >> "$gd/config.worktree"
        echo junk > "$gd/HEAD"
        rm -f .git; mv .git moved; echo 'gitdir: /tmp/evil' > .git
        git -c user.email=a@b -c user.name=n commit -qam sneaky && echo COMMITTED
    """))
    assert "M app.py" in result.output  # git still reads the worktree
    assert "COMMITTED" not in result.output
    assert not (user_repo / ".git" / "hooks" / "pre-commit").exists()
    assert (user_repo / ".git" / "config").read_text() == config_before
    assert (workspace / ".git").read_text() == dotgit_before
    assert not (workspace / "moved").exists()
    assert git(user_repo, "log", "--oneline").count("\n") == 1
    assert git(workspace, "status", "--short").strip() == "M app.py"


def test_git_dir_of_plain_repo_is_read_only(make_repo, tmp_path):
    repo = make_repo({"a.txt": "a\n"}, name="plain")
    box = open_sandbox("bwrap", repo, timeout=20, scratch=tmp_path / "s")
    result = box.run("echo x > .git/hooks/pre-commit; echo x >> .git/config; echo new > b.txt; git status --short")
    assert "?? b.txt" in result.output
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert "x" not in (repo / ".git" / "config").read_text().splitlines()


def test_private_tmp_closed_stdin_no_capabilities(box):
    marker = f"codeagent-tmp-{os.getpid()}"
    result = box.run(f"echo x > /tmp/{marker}; cat; echo stdin-closed; grep CapEff /proc/self/status; "
                     "unshare -U true || echo no-nested-userns")
    assert not Path(f"/tmp/{marker}").exists()
    assert "stdin-closed" in result.output
    assert "CapEff:\t0000000000000000" in result.output
    assert "no-nested-userns" in result.output


AGENT = """
import sys
from pathlib import Path
from codeagent.sandbox import open_sandbox
box = open_sandbox("bwrap", Path(sys.argv[1]), timeout=60, scratch=Path(sys.argv[2]))
box.run("sleep 1002.7 & sleep 1002.8")
"""


def test_agent_killed_with_sigkill_leaves_no_sandboxed_process(workspace, tmp_path):
    agent = subprocess.Popen([sys.executable, "-c", AGENT, str(workspace), str(tmp_path / "s")])
    try:
        deadline = time.monotonic() + 15
        while len(sandboxed_pids("1002.")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sandboxed_pids("1002.")) >= 2, "the sandboxed command never started"
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait()
        assert wait_gone("1002.") == []
    finally:
        if agent.poll() is None:
            agent.kill()


def spawners_of(parent: int) -> list[int]:
    """Pids of the cgroup spawners started by `parent`."""
    found = []
    for pid in sandboxed_pids("spawner.py"):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if f"PPid:\t{parent}\n" in status:
            found.append(pid)
    return found


def test_commands_start_inside_their_cgroup_and_a_dead_spawner_is_replaced(box):
    if box.cgroup is None:
        pytest.skip("no writable cgroup hierarchy here: limits are rlimits")
    started = threading.Thread(target=box.run, args=("sleep 1003.25",), kwargs={"timeout": 3})
    started.start()
    try:
        deadline = time.monotonic() + 5
        while not sandboxed_pids("1003.25") and time.monotonic() < deadline:
            time.sleep(0.02)
        pids = sandboxed_pids("1003.25")
        assert pids and all("/codeagent-" in Path(f"/proc/{pid}/cgroup").read_text() for pid in pids)
    finally:
        started.join()
    spawners = spawners_of(os.getpid())
    assert spawners, "the sandbox's spawner is not running"
    for pid in spawners:
        os.kill(pid, signal.SIGKILL)
    result = box.run("echo still-works")
    assert result.exit_code == 0 and "still-works" in result.output
    box.close()
    deadline = time.monotonic() + 5
    while spawners_of(os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spawners_of(os.getpid()) == []


def test_commands_get_default_signal_handling(box):
    result = box.run("yes | head -n 2; grep SigIgn /proc/self/status")
    lines = result.output.splitlines()
    assert lines[:2] == ["y", "y"] and len(lines) == 3, result.output  # no "Broken pipe" from yes
    ignored = int(lines[2].split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1))


def test_the_checkouts_virtualenv_is_used_read_only_and_nothing_else_shows(make_repo, tmp_path):
    repo = make_repo({"app.py": "import localdep\nprint(localdep.VALUE)\n", ".gitignore": ".venv/\n"})
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    site = next((repo / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "localdep.py").write_text("VALUE = 'from the project venv'\n")
    ws = tmp_path / "ws"
    git(repo, "worktree", "add", "-q", "--detach", str(ws), "HEAD")
    assert not (ws / ".venv").exists()  # git leaves ignored environments behind
    box = open_sandbox("bwrap", ws, timeout=20, scratch=tmp_path / "scratch")
    result = box.run("python app.py; python -c 'import sys; print(sys.prefix)'; "
                     "touch .venv/planted; echo x > .venv/pyvenv.cfg; ls -A " + str(repo))
    assert "from the project venv" in result.output
    assert f"{ws}/.venv" in result.output  # the workspace's view of it comes first on PATH
    assert not (site.parent.parent.parent / "planted").exists()
    assert "x" not in (repo / ".venv" / "pyvenv.cfg").read_text().splitlines()
    assert result.output.strip().splitlines()[-1] == ".venv"  # of the checkout, only the venv is there
    assert git(ws, "status", "--porcelain").strip() == ""  # the mount point adds nothing to the diff
    off = tmp_path / "off.toml"
    off.write_text('extends = "default"\n[filesystem]\nproject_envs = []\n')
    plain = open_sandbox("bwrap", ws, timeout=20, scratch=tmp_path / "scratch2", profile=str(off))
    assert "No module named 'localdep'" in plain.run("python app.py").output
