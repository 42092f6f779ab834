"""The git config a sandbox sees: the repository's own, with every credential taken out.

CI checkouts and some users keep credentials in the repository's git config: a token
in a remote URL (`https://x-access-token:TOKEN@host/...`), an `http.extraheader`
(`AUTHORIZATION: basic ...`), a `credential.*` helper. The git metadata is bound
read-only into the sandbox so `git status` works there; each config file in it (and
/etc/gitconfig) is covered by a sanitised copy: no `credential` or `include` sections,
no extraheader / cookie / askpass / key / password-like keys, no userinfo in any URL.
"""

from __future__ import annotations

import re
from pathlib import Path

URL_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@\"']+@")
SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9.-]+)")
DROPPED_SECTIONS = ("credential", "include", "includeif")
DROPPED_KEY = re.compile(r"^\s*(extraheader|cookiefile|askpass|sslkey|sslcert|sslcertpasswordprotected|proxyauthmethod"
                         r"|[A-Za-z0-9-]*(token|password|passwd|secret|apikey|api-key|auth)[A-Za-z0-9-]*)\s*(=|$)",
                         re.IGNORECASE)
CONFIG_NAMES = ("config", "config.worktree")
SYSTEM_CONFIG = Path("/etc/gitconfig")


def sanitise(text: str) -> str:
    """The config text without credentials (line-based: git config is simple enough)."""
    kept: list[str] = []
    skip_section = skip_continued = False
    for line in text.splitlines():
        if skip_continued:
            skip_continued = line.rstrip().endswith("\\")
            continue
        header = SECTION.match(line)
        if header:
            name = header.group(1).split(".")[0].lower()
            skip_section = name in DROPPED_SECTIONS
            if not skip_section:
                kept.append(URL_USERINFO.sub(r"\1", line))
            continue
        if skip_section:
            continue
        if DROPPED_KEY.match(line):
            skip_continued = line.rstrip().endswith("\\")
            continue
        kept.append(URL_USERINFO.sub(r"\1", line))
    return "\n".join(kept) + "\n"


def overlay_args(git_dirs: list[Path], private: Path) -> list[str]:
    """bwrap args binding a sanitised copy over each git config file in `git_dirs`
    (and /etc/gitconfig) that holds a credential; the copies are written under `private`.
    A file sanitising leaves unchanged costs no mount."""
    sources = [d / name for d in git_dirs for name in CONFIG_NAMES] + [SYSTEM_CONFIG]
    args: list[str] = []
    for index, source in enumerate(sources):
        try:
            if not source.is_file():
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        clean = sanitise(text)
        if clean == text or clean == text + "\n":
            continue
        copy = private / f"gitconfig-{index}"
        copy.write_text(clean, encoding="utf-8")
        args += ["--ro-bind", str(copy), str(source)]
    return args
