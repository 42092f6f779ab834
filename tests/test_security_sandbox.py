"""Adversarial suite, sandbox class: kernel knobs, host-root-only files, and mounts a
repository's `.venv/pyvenv.cfg` asks for. Each test attacks through the real bwrap
sandbox; each fails if its defence (hardening.py, mounts.interpreter_prefix) goes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.sandbox import open_sandbox
from codeagent.sandbox.hardening import _owner_only, root_only_masks
from codeagent.sandbox.mounts import interpreter_prefix, venv_home
from repo_helpers import git
from test_sandbox_bwrap import require_bwrap


@pytest.fixture(autouse=True)
def _bwrap():
    require_bwrap()


@pytest.fixture
def user_repo(make_repo):
    return make_repo({"app.py": "print('hello')\n", ".gitignore": ".venv/\nvenv/\n"})


@pytest.fixture
def workspace(user_repo, tmp_path):
    ws = tmp_path / "ws"
    git(user_repo, "worktree", "add", "-q", "--detach", str(ws), "HEAD")
    return ws


@pytest.fixture
def box(workspace, tmp_path):
    return open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "scratch")


OPEN_FOR_WRITE = """
import sys
for path in sys.argv[1:]:
    try:
        open(path, "r+b").close()
        print("WRITABLE", path)
    except OSError as exc:
        print("refused", path, exc.strerror)
"""


@pytest.mark.parametrize("knob", ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
                                  "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname",
                                  "/proc/sys/fs/protected_symlinks", "/proc/sys/kernel/randomize_va_space"])
def test_kernel_knobs_cannot_be_opened_for_writing(box, knob):
    if not Path(knob).exists():
        pytest.skip(f"{knob} does not exist on this kernel")
    result = box.run(["python3", "-c", OPEN_FOR_WRITE, knob])
    assert "WRITABLE" not in result.output and "refused" in result.output, result.output


def test_sysrq_trigger_and_irq_are_read_only(box):
    paths = [p for p in ("/proc/sysrq-trigger", "/proc/irq/default_smp_affinity") if Path(p).exists()]
    if not paths:
        pytest.skip("no sysrq-trigger or irq knobs here")
    result = box.run(["python3", "-c", OPEN_FOR_WRITE, *paths])
    assert "WRITABLE" not in result.output, result.output


def test_core_pattern_cannot_be_rewritten(box):
    # writes back the value it read, so a failing defence changes nothing on the host
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    result = box.run("v=$(cat /proc/sys/kernel/core_pattern) && printf '%s\\n' \"$v\" > /proc/sys/kernel/core_pattern "
                     "&& echo REWROTE")
    assert "REWROTE" not in result.output, result.output
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


def test_kernel_state_files_are_masked(box):
    present = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if Path(p).exists()]
    result = box.run("for f in " + " ".join(present) + "; do printf '%s=' $f; head -c 64 $f 2>/dev/null | wc -c; done")
    for path in present:
        assert f"{path}=0" in result.output, result.output


def test_shadow_contents_never_reach_the_sandbox(box):
    result = box.run("cat /etc/shadow /etc/gshadow 2>&1; echo done")
    assert "done" in result.output
    assert "root:" not in result.output  # every shadow file starts with root's line


def test_owner_only_files_are_masked_as_root_whatever_the_caller():
    masks = root_only_masks(["/etc"], euid=0)
    shadow = Path("/etc/shadow")
    if shadow.exists() and not shadow.stat().st_mode & 0o004:
        assert masks[masks.index(str(shadow)) - 2:masks.index(str(shadow)) + 1] == ["--ro-bind", "/dev/null", str(shadow)]
    assert root_only_masks(["/etc"], euid=1000) == []
    private = [p for p, is_dir in _owner_only(("/etc",)) if is_dir]
    if private:
        masks = root_only_masks(["/etc"], euid=0, empty_dir=Path("/nonexistent-empty"))
        assert masks[masks.index(private[0]) - 2:masks.index(private[0]) + 1] == [
            "--ro-bind", "/nonexistent-empty", private[0]]
    assert root_only_masks(["/usr"], euid=0) == []  # /etc not bound: nothing to hide


def test_owner_only_walk_finds_files_and_folders(tmp_path):
    (tmp_path / "open.txt").write_text("x")
    secret = tmp_path / "secret.key"
    secret.write_text("k")
    secret.chmod(0o600)
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    (tmp_path / "link").symlink_to(secret)
    lock = tmp_path / ".lock"
    lock.write_text("")
    lock.chmod(0o600)  # empty: nothing to hide, no mount spent on it
    found = dict(_owner_only((str(tmp_path),)))
    assert found == {str(secret): False, str(private): True}


# -- mounts a repository asks for --------------------------------------------------


def plant_venv(where: Path, home: str) -> None:
    (where / "bin").mkdir(parents=True)
    (where / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n")


@pytest.mark.parametrize("home", ["/x", "/", "/root", "/home", "/tmp", "/run/bin"])
def test_workspace_pyvenv_cfg_cannot_mount_host_trees(box, workspace, tmp_path, home):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET-1234\n")
    plant_venv(workspace / ".venv", home)
    box = open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "scratch2")
    result = box.run(f"cat {secret}; ls {Path(os.path.expanduser('~'))}/.ssh 2>&1; ls /run 2>&1 | head -3")
    assert "HOST-SECRET-1234" not in result.output
    mounts = " ".join(box._mounts[0])
    assert "--ro-bind / /" not in mounts and "--ro-bind /run" not in mounts


def test_checkout_pyvenv_cfg_cannot_mount_host_trees(user_repo, workspace, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET-5678\n")
    plant_venv(user_repo / ".venv", str(tmp_path / "bin"))  # home's parent is tmp_path: the secret's folder
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").write_text("#!/bin/sh\n")
    box = open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "scratch2")
    result = box.run(f"cat {secret}")
    assert "HOST-SECRET-5678" not in result.output


def test_pyvenv_home_inside_the_workspace_or_checkout_is_refused(user_repo, workspace):
    fake = workspace / "fakepy"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python3").write_text("")
    (fake / "lib" / "python3.11").mkdir(parents=True)
    (fake / "lib" / "python3.11" / "os.py").write_text("")
    assert interpreter_prefix(str(fake / "bin"), [workspace]) is None
    assert interpreter_prefix(str(fake / "bin"), []) == fake.resolve()  # the shape alone would pass
    assert interpreter_prefix(str(user_repo / "bin"), [user_repo]) is None


def test_a_real_interpreter_prefix_is_accepted():
    real = Path(os.path.realpath(sys.executable)).parent
    assert interpreter_prefix(str(real), []) == real.parent
    assert interpreter_prefix("relative/bin", []) is None
    assert interpreter_prefix("/usr/lib", []) is None  # not a bin/ folder


def test_venv_home_reads_only_a_real_pyvenv_cfg(tmp_path):
    env = tmp_path / "env"
    env.mkdir()
    (env / "pyvenv.cfg").mkdir()  # a folder, not a file
    assert venv_home(env) is None
    env2 = tmp_path / "env2"
    plant_venv(env2, str(Path(os.path.realpath(sys.executable)).parent))
    assert venv_home(env2) == Path(os.path.realpath(sys.executable)).parent.parent


def test_a_real_project_venv_still_works(make_repo, tmp_path):
    repo = make_repo({"app.py": "import localdep\nprint(localdep.VALUE)\n", ".gitignore": ".venv/\n"}, name="r2")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    site = next((repo / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "localdep.py").write_text("VALUE = 'from the project venv'\n")
    ws = tmp_path / "ws2"
    git(repo, "worktree", "add", "-q", "--detach", str(ws), "HEAD")
    box = open_sandbox("bwrap", ws, timeout=20, scratch=tmp_path / "scratch3")
    assert "from the project venv" in box.run("python app.py").output


# -- system calls (seccomp) ----------------------------------------------------------

SYSCALL_PROBE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for nr in map(int, sys.argv[1:]):
    ctypes.set_errno(0)
    rc = libc.syscall(nr, 0, 0, 0, 0, 0)
    print(nr, rc, ctypes.get_errno())
"""


def blocked_numbers(*names):
    from codeagent.sandbox.seccomp import ARCHES
    import platform

    if platform.machine() not in ARCHES:
        pytest.skip("no seccomp filter for this machine")
    table = ARCHES[platform.machine()][1]
    return [table[n] for n in names]


# (userfaultfd and fsopen are left out here: without capabilities the kernel already says
# EPERM, so such a case could not fail; the program test below covers them)
@pytest.mark.parametrize("name", ["ptrace", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "mount",
                                  "kexec_load", "init_module", "process_vm_readv", "open_by_handle_at"])
def test_dangerous_syscalls_fail_with_eperm(box, name):
    (nr,) = blocked_numbers(name)
    result = box.run(["python3", "-c", SYSCALL_PROBE, str(nr)])
    assert result.output.split() == [str(nr), "-1", "1"], result.output  # errno 1: EPERM from the filter


def test_seccomp_also_binds_the_rlimit_launcher(workspace, tmp_path):
    profile = tmp_path / "nocg.toml"
    profile.write_text('extends = "default"\n[limits]\nuse_cgroup = false\n')
    box = open_sandbox("bwrap", workspace, timeout=20, scratch=tmp_path / "s", profile=str(profile))
    nrs = blocked_numbers("ptrace", "bpf")
    result = box.run(["python3", "-c", SYSCALL_PROBE, *map(str, nrs)])
    assert [line.split()[2] for line in result.output.splitlines()] == ["1", "1"], result.output
    assert box.run("echo fine").output.strip() == "fine"


def test_every_command_runs_under_a_seccomp_filter(box):
    status = box.run("grep -E '^Seccomp:' /proc/self/status").output.split()
    assert status == ["Seccomp:", "2"]


def run_bpf(code: bytes, nr: int, arch: int) -> int:
    """A tiny classic-BPF interpreter for the opcodes the filter uses."""
    import struct
    data = struct.pack("=iI", nr, arch) + bytes(56)
    insns = [struct.unpack("=HBBI", code[i:i + 8]) for i in range(0, len(code), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        if op == 0x20:
            acc = struct.unpack("=I", data[k:k + 4])[0]
        elif op in (0x15, 0x35):
            hit = acc == k if op == 0x15 else acc >= k
            pc += jt if hit else jf
        elif op == 0x06:
            return k
        pc += 1


def test_the_filter_program_blocks_foreign_abis_and_allows_the_rest():
    from codeagent.sandbox.seccomp import ARCHES, RET_ALLOW, RET_EPERM, program

    for machine, (arch, table) in ARCHES.items():
        code = program(machine)
        assert all(run_bpf(code, nr, arch) == RET_EPERM for nr in table.values())
        assert run_bpf(code, 0, arch) == RET_ALLOW  # read / io_setup
        assert run_bpf(code, 1, 0x40000003) == RET_EPERM  # i386 through int 0x80
    x86 = ARCHES["x86_64"][0]
    assert run_bpf(program("x86_64"), 0x40000000 + 101, x86) == RET_EPERM  # x32 ABI
    assert program("sparc") is None
