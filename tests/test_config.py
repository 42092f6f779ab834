"""The layered settings: defaults < user file < repo < environment < flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from codeagent.config import load_settings, user_config_dir
from codeagent.errors import ConfigError


def write_user_config(text: str) -> None:
    path = user_config_dir() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_defaults_have_default_source(tmp_path):
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings.model is None
    assert loaded.sources["max_steps"] == "default"


def test_layers_override_in_order(tmp_path):
    write_user_config('model = "user-model"\nmax_steps = 9\ntest_cmd = "make test"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.codeagent]\nmax_steps = 6\ntest_cmd = "pytest -q"\n')
    (tmp_path / ".codeagent.toml").write_text("max_steps = 7\n")
    loaded = load_settings(tmp_path, flags={"test_cmd": "pytest -x"}, environ={"CODEAGENT_MODEL": "env-model"})
    s = loaded.settings
    assert (s.model, s.max_steps, s.test_cmd) == ("env-model", 7, "pytest -x")
    assert loaded.sources["model"] == "env CODEAGENT_MODEL"
    assert loaded.sources["max_steps"].endswith(".codeagent.toml")
    assert loaded.sources["test_cmd"] == "flag"


def test_openai_env_vars(tmp_path):
    s = load_settings(tmp_path, environ={"OPENAI_API_KEY": "sk-test-1234567890", "OPENAI_BASE_URL": "http://x/v1"})
    assert s.settings.api_key == "sk-test-1234567890"
    assert s.settings.base_url == "http://x/v1"
    assert "1234567890" not in json.dumps(s.redacted())


def test_bad_toml_names_the_file(tmp_path):
    (tmp_path / ".codeagent.toml").write_text("max_steps = = 3\n")
    with pytest.raises(ConfigError, match=r"\.codeagent\.toml: not valid TOML"):
        load_settings(tmp_path, environ={})


def test_unknown_key_names_file_and_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.codeagent]\nmax_stepz = 3\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.codeagent\]: unknown key 'max_stepz'"):
        load_settings(tmp_path, environ={})


def test_bad_value_names_source_and_key(tmp_path):
    (tmp_path / ".codeagent.toml").write_text('max_steps = "many"\n')
    with pytest.raises(ConfigError, match=r"\.codeagent\.toml: bad value for 'max_steps'"):
        load_settings(tmp_path, environ={})
    (tmp_path / ".codeagent.toml").unlink()
    with pytest.raises(ConfigError, match=r"CODEAGENT_ALLOW_NETWORK"):
        load_settings(tmp_path, environ={"CODEAGENT_ALLOW_NETWORK": "maybe"})
    with pytest.raises(ConfigError, match=r"environment: bad value for 'max_cost'"):
        load_settings(tmp_path, environ={"CODEAGENT_MAX_COST": "-1"})


def test_precommit_table_merges(tmp_path):
    write_user_config("[precommit]\nbudget = 30\n")
    (tmp_path / ".codeagent.toml").write_text('[precommit]\nmode = "fix"\n')
    s = load_settings(tmp_path, environ={}).settings
    assert (s.precommit.mode, s.precommit.budget) == ("fix", 30)


def test_config_show_redacts_and_reports_sources(tmp_path, make_repo):
    repo = make_repo({".codeagent.toml": 'test_cmd = "m1"\n'})
    env = {**os.environ, "OPENAI_API_KEY": "sk-secret-abcdefgh99"}
    out = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "config", "show", "--json"], cwd=repo,
                         env=env, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["test_cmd"] == {"value": "m1", "source": str(repo / ".codeagent.toml")}
    assert data["api_key"]["source"] == "env OPENAI_API_KEY"
    assert "abcdefgh99" not in out


def test_broken_config_exits_2_with_message(make_repo):
    repo = make_repo({".codeagent.toml": "sandbox = [\n"})
    proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "config", "show"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert ".codeagent.toml" in proc.stderr
