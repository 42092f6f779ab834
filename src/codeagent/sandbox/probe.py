"""Is bubblewrap usable here? Found once per process and cached: the binary, its
version, and whether it can make the namespaces the sandbox needs (user, pid, net).
`require_bwrap()` turns a "no" into SandboxUnavailableError with an install hint.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from codeagent.errors import SandboxUnavailableError

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; "
    "Arch: pacman -S bubblewrap), or choose --sandbox none to run commands unsandboxed"
)
USERNS_HINT = (
    "bubblewrap needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 (Debian), "
    "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04+), user.max_user_namespaces > 0; "
    "or choose --sandbox none to run commands unsandboxed"
)


@dataclass(frozen=True)
class BwrapStatus:
    kind = "bwrap_status"
    path: str | None
    version: tuple[int, ...] | None
    usable: bool
    problem: str | None = None  # why it is not usable

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


def _version(path: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(part) for part in match.groups() if part is not None) if match else None


@lru_cache(maxsize=1)
def bwrap_status() -> BwrapStatus:
    """Find bubblewrap and try the namespaces the backend uses."""
    path = shutil.which("bwrap")
    if path is None:
        return BwrapStatus(None, None, False, "bubblewrap (bwrap) is not installed")
    version = _version(path)
    probe = [path, "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid", "--unshare-net",
             "--die-with-parent", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return BwrapStatus(path, version, False, f"bubblewrap failed to start: {exc}")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return BwrapStatus(path, version, False, "bubblewrap cannot create namespaces here: "
                           + (detail[-1] if detail else f"exit code {done.returncode}"))
    return BwrapStatus(path, version, True)


def require_bwrap() -> BwrapStatus:
    status = bwrap_status()
    if not status.usable:
        hint = INSTALL_HINT if status.path is None else USERNS_HINT
        raise SandboxUnavailableError(f"sandbox unavailable: {status.problem}", hint=hint)
    return status
