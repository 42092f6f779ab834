"""`codeagent trust [PATH]`: read a repository's own codeagent config like yours.

Until then its `.codeagent.toml` / `[tool.codeagent]` may set only what a repository
decides (test command, prompts, linters, map settings; lower caps); see `codeagent.trust`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from codeagent.cli.output import stderr_console
from codeagent.config import user_config_dir
from codeagent.errors import ConfigError
from codeagent.gitutil import find_repo_root
from codeagent.trust import add_trusted


def register(app: typer.Typer) -> None:
    @app.command("trust")
    def trust_cmd(path: Path = typer.Argument(Path("."), help="A folder inside the repository to trust.")) -> None:
        """Trust a repository: its config may then set the endpoint, model, sandbox and network."""
        repo = find_repo_root(path.resolve()) or (path.resolve() if path.is_dir() else None)
        if repo is None:
            raise ConfigError(f"{path}: not a folder")
        file, added = add_trusted(user_config_dir(), repo)
        verb = "now trusted" if added else "already trusted"
        stderr_console().print(f"{repo}: {verb} (recorded in {file})")
