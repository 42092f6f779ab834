"""Sandboxes: the protocol in `base`, backends by name in `codeagent.registry.SANDBOXES`,
profiles (TOML data in the top-level `sandbox/` folder) in `profiles`.

    open_sandbox("auto" | "bwrap" | "none", workspace) -> Sandbox

"auto" is bubblewrap, never a silent downgrade: without a usable bwrap it raises
SandboxUnavailableError (exit code 4) with an install hint. "none" runs commands
unsandboxed and says so in `.warning`, which front doors print on every run.
"""

from __future__ import annotations

from pathlib import Path

from codeagent.registry import SANDBOXES, load
from codeagent.sandbox.base import CommandResult, Sandbox
from codeagent.sandbox.probe import require_bwrap
from codeagent.sandbox.profiles import load_profile

__all__ = ["CommandResult", "Sandbox", "open_sandbox"]


def open_sandbox(name: str, root: Path, *, allow_network: bool = False, timeout: float = 300.0,
                 scratch: Path | None = None, profile: str | None = None, checkout: Path | None = None) -> Sandbox:
    """The sandbox named `name` ("auto", "bwrap" or "none") over the workspace `root`.

    `profile` is a profile name or a path to a .toml file; by default "default", or
    "network" when `allow_network` is set (which also turns network on in any profile).
    `checkout` is the user's checkout whose ignored environments (`project_envs`) the
    workspace lacks; by default the checkout `root` is a linked worktree of.
    """
    if name == "auto":
        require_bwrap()
        name = "bwrap"
    cls = load(SANDBOXES, name, "sandbox")
    chosen = load_profile(profile or ("network" if allow_network else "default"))
    if allow_network and not chosen.network:
        chosen = chosen.model_copy(update={"network": True})
    return cls(root, allow_network=allow_network, timeout=timeout, scratch=scratch, profile=chosen, checkout=checkout)
