"""Sandboxes: the protocol in `base`, backends by name in `codeagent.registry.SANDBOXES`."""

from __future__ import annotations

from pathlib import Path

from codeagent.registry import SANDBOXES, load
from codeagent.sandbox.base import CommandResult, Sandbox

__all__ = ["CommandResult", "Sandbox", "open_sandbox"]


def open_sandbox(name: str, root: Path, *, allow_network: bool = False, timeout: float = 300.0,
                 scratch: Path | None = None) -> Sandbox:
    """The sandbox named `name` ("auto", "bwrap" or "none") over the workspace `root`."""
    if name == "auto":
        name = "bwrap"
    cls = load(SANDBOXES, name, "sandbox")
    return cls(root, allow_network=allow_network, timeout=timeout, scratch=scratch)
