"""A seccomp filter for sandboxed commands: the system calls a test suite never needs and
an escape often does fail with EPERM.

    blocked   ptrace, process_vm_readv/writev (reading other processes), keyctl,
              add_key, request_key (the kernel keyring), bpf, userfaultfd (a race
              amplifier), perf_event_open, mount and the new mount API, umount2,
              pivot_root, kexec_load/kexec_file_load, init/finit/delete_module,
              reboot, swapon/swapoff, acct, open_by_handle_at, name_to_handle_at,
              iopl/ioperm
    also      any call through a foreign ABI (32-bit int 0x80 on x86-64, x32), which
              would otherwise go around the numbers above

bwrap loads the program (`--seccomp FD`) after it has set up the mounts and just before
it runs the command, so the filter binds the command and everything it starts. The
program is classic BPF, written here as data: x86-64 and aarch64 have numbers below; on
any other machine there is no filter and `available()` says so.
"""

from __future__ import annotations

import atexit
import functools
import os
import platform
import struct
import tempfile
from pathlib import Path

FD = 3  # where bwrap reads the program from (opened fresh for each command)

# (audit arch, {name: number}); the new mount API (428-433, 442) is numbered alike everywhere
_NEW_MOUNT_API = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
                  "fspick": 433, "mount_setattr": 442}
ARCHES = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "keyctl": 250, "add_key": 248,
        "request_key": 249, "bpf": 321, "userfaultfd": 323, "perf_event_open": 298, "mount": 165,
        "umount2": 166, "pivot_root": 155, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "iopl": 172, "ioperm": 173, **_NEW_MOUNT_API}),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "keyctl": 219, "add_key": 217,
        "request_key": 218, "bpf": 280, "userfaultfd": 282, "perf_event_open": 241, "mount": 40,
        "umount2": 39, "pivot_root": 41, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
        "open_by_handle_at": 265, "name_to_handle_at": 264, **_NEW_MOUNT_API}),
}
X32_BIT = 0x40000000

# classic BPF opcodes
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_EPERM = 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
NR, ARCH = 0, 4  # offsets in struct seccomp_data


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for `machine` (default: this one) as bwrap reads it, or None."""
    entry = ARCHES.get(machine or platform.machine())
    if entry is None:
        return None
    audit_arch, numbers = entry
    blocked = sorted(set(numbers.values()))
    deny = 3 + len(blocked) + (1 if audit_arch == ARCHES["x86_64"][0] else 0) + 1  # index of RET_EPERM
    code = [_insn(LD_W_ABS, ARCH), _insn(JEQ_K, audit_arch, 0, deny - 2), _insn(LD_W_ABS, NR)]
    if audit_arch == ARCHES["x86_64"][0]:
        code.append(_insn(JGE_K, X32_BIT, deny - 4, 0))
    for nr in blocked:
        code.append(_insn(JEQ_K, nr, deny - len(code) - 1, 0))
    code.append(_insn(RET_K, RET_ALLOW))
    code.append(_insn(RET_K, RET_EPERM))
    return b"".join(code)


@functools.lru_cache(maxsize=1)
def program_file() -> Path | None:
    """The filter written once per process to a private file (each command opens it)."""
    data = program()
    if data is None:
        return None
    fd, name = tempfile.mkstemp(prefix="codeagent-seccomp-", suffix=".bpf")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    atexit.register(_remove, name)
    return Path(name)


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
