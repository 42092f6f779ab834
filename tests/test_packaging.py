"""The wheel ships prompts/ and sandbox/ and a normal install finds them; the CLI
lists every command with a one-line description."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_data_and_finds_it(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), "-q"], check=True, capture_output=True)
    [wheel] = tmp_path.glob("codeagent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "codeagent/_data/prompts/system.md.j2" in names
    assert "codeagent/_data/sandbox/default.toml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "from codeagent.resources import prompts_dir, sandbox_profiles_dir; print(prompts_dir()); " \
           "print(sandbox_profiles_dir())"
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(site / "codeagent/_data/prompts"), str(site / "codeagent/_data/sandbox")]


def test_editable_install_finds_top_level_data():
    from codeagent.resources import prompts_dir, sandbox_profiles_dir

    assert (prompts_dir() / "system.md.j2").is_file()
    assert (sandbox_profiles_dir() / "default.toml").is_file()


def test_help_lists_commands_with_descriptions():
    out = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "--help"], capture_output=True, text=True,
                         check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    for command in ("run", "resume", "demo", "config", "sessions", "exec", "doctor", "apply", "map", "context",
                    "test", "hook", "precommit", "batch", "eval"):
        line = next((l for l in out.splitlines() if l.strip("│ ").startswith(command + " ")), None)
        assert line and len(line.strip("│ ").split(None, 1)) == 2, f"{command} missing from --help"


def test_usage_errors_exit_2_without_traceback(tmp_path):
    for args in (["run"], ["run", "x", "--max-steps", "abc"], ["no-such-command"]):
        proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", *args], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr and "Error" in proc.stderr
