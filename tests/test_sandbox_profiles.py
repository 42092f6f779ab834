"""Sandbox profiles: shipped ones load, bad ones are refused naming the key,
secrets can never be allowlisted, and open_sandbox picks the right profile."""

from __future__ import annotations

import textwrap

import pytest

from codeagent.config import user_config_dir
from codeagent.errors import ConfigError, SandboxUnavailableError
from codeagent.sandbox import open_sandbox, probe
from codeagent.sandbox.profiles import available_profiles, is_secret_name, load_profile


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_profiles_load():
    default, network = load_profile("default"), load_profile("network")
    assert default.name == "default" and not default.network
    assert network.network and network.extends == "default"
    assert network.limits == default.limits  # inherited through extends
    assert "/usr" in network.filesystem.ro_bind
    assert {"default", "network"} <= set(available_profiles())


def test_unknown_key_is_named(tmp_path):
    path = write(tmp_path / "p.toml", """
        [limits]
        memroy_mb = 10
    """)
    with pytest.raises(ConfigError, match=r"p.toml: unknown key 'limits.memroy_mb'"):
        load_profile(str(path))


def test_bad_value_is_named(tmp_path):
    path = write(tmp_path / "p.toml", 'extends = "default"\n[limits]\nprocesses = "many"\n')
    with pytest.raises(ConfigError, match=r"bad value for 'limits.processes'"):
        load_profile(str(path))
    path.write_text('[filesystem]\nro_bind = ["usr"]\n')
    with pytest.raises(ConfigError, match=r"'filesystem.ro_bind'.*absolute"):
        load_profile(str(path))
    path.write_text('[filesystem]\nhome_ro_try = ["../.ssh"]\n')
    with pytest.raises(ConfigError, match=r"'filesystem.home_ro_try'"):
        load_profile(str(path))


def test_invalid_toml_and_missing_profile(tmp_path):
    path = write(tmp_path / "p.toml", "network = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile(str(path))
    with pytest.raises(ConfigError, match="unknown sandbox profile 'nope'") as info:
        load_profile("nope")
    assert "default" in info.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(str(tmp_path / "missing.toml"))


def test_extends_loop_is_refused(tmp_path):
    write(tmp_path / "a.toml", f'extends = "{tmp_path}/b.toml"\n')
    write(tmp_path / "b.toml", f'extends = "{tmp_path}/a.toml"\n')
    with pytest.raises(ConfigError, match="loops back"):
        load_profile(str(tmp_path / "a.toml"))


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "GITHUB_TOKEN", "SSH_AUTH_SOCK", "GPG_AGENT_INFO",
                                  "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "MY_KEY"])
def test_secrets_cannot_be_allowlisted(tmp_path, name):
    assert is_secret_name(name)
    path = write(tmp_path / "p.toml", f'[env]\nallow = ["PATH", "{name}"]\n')
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_profile(str(path))
    path.write_text(f'[env.set]\n{name} = "x"\n')
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_profile(str(path))


def test_whole_environment_cannot_be_allowlisted(tmp_path):
    path = write(tmp_path / "p.toml", '[env]\nallow = ["*"]\n')
    with pytest.raises(ConfigError, match="whole environment"):
        load_profile(str(path))


def test_prefix_allow_still_drops_secrets(tmp_path):
    profile = load_profile(str(write(tmp_path / "p.toml", '[env]\nallow = ["MYAPP_*"]\n')))
    assert profile.env_allowed("MYAPP_MODE")
    assert not profile.env_allowed("MYAPP_API_KEY")
    assert not profile.env_allowed("OTHER")


def test_user_profile_dir_is_searched_first():
    folder = user_config_dir() / "sandbox"
    folder.mkdir(parents=True)
    write(folder / "default.toml", 'description = "mine"\n[limits]\nprocesses = 99\n')
    profile = load_profile("default")
    assert profile.description == "mine" and profile.limits.processes == 99


def test_open_sandbox_chooses_profile(tmp_path):
    none = open_sandbox("none", tmp_path, allow_network=True)
    assert none.profile.name == "network" and none.warning
    custom = write(tmp_path / "c.toml", 'extends = "default"\n[limits]\noutput_bytes = 5000\n')
    box = open_sandbox("none", tmp_path, allow_network=True, profile=str(custom))
    assert box.profile.network and box.output_cap == 5000
    with pytest.raises(ConfigError, match="unknown sandbox 'docker'"):
        open_sandbox("docker", tmp_path)


def test_auto_without_bwrap_stops_with_exit_code_4(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    probe.bwrap_status.cache_clear()
    try:
        for name in ("auto", "bwrap"):
            with pytest.raises(SandboxUnavailableError) as info:
                open_sandbox(name, tmp_path)
            assert info.value.exit_code == 4
            assert "apt-get install bubblewrap" in info.value.hint and "--sandbox none" in info.value.hint
        assert open_sandbox("none", tmp_path).warning  # chosen by name: allowed, with a warning
    finally:
        probe.bwrap_status.cache_clear()


def test_missing_required_bind_is_a_clear_error(tmp_path):
    from test_sandbox_bwrap import require_bwrap

    require_bwrap()
    path = write(tmp_path / "p.toml", 'extends = "default"\n[filesystem]\nro_bind = ["/usr", "/no/such/dir"]\n')
    with pytest.raises(ConfigError, match=r"ro_bind path /no/such/dir does not exist") as info:
        open_sandbox("bwrap", tmp_path, profile=str(path))
    assert "ro_bind_try" in info.value.hint
