"""`codeagent exec` and `codeagent doctor`, run as a user would, in a real repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from test_sandbox_bwrap import require_bwrap


def codeagent(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "codeagent.cli.main", *args], cwd=cwd, env=env or os.environ.copy(),
                          capture_output=True, text=True, timeout=120)


def test_exec_runs_in_sandbox_and_returns_exit_code(make_repo):
    require_bwrap()
    repo = make_repo({"a.txt": "a\n"})
    done = codeagent("exec", "--", "cat a.txt; echo x > /etc/codeagent-cli; exit 3", cwd=repo)
    assert done.returncode == 3
    assert "a\n" in done.stdout
    assert "Read-only file system" in done.stdout
    done = codeagent("exec", "--json", "--", "ls", "-a", cwd=repo)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["sandbox"] == "bwrap" and "a.txt" in result["output"]


def test_exec_reports_timeout_and_limits(make_repo):
    require_bwrap()
    repo = make_repo({"a.txt": "a\n"})
    done = codeagent("exec", "--timeout", "0.5", "--", "sleep 30", cwd=repo)
    assert done.returncode == 124
    assert "timed out" in done.stderr


def test_exec_network_flag(make_repo):
    require_bwrap()
    repo = make_repo({"a.txt": "a\n"})
    probe = "cat /proc/net/dev | tail -n +3 | wc -l"
    closed = codeagent("exec", "--", probe, cwd=repo)
    opened = codeagent("exec", "--allow-network", "--", probe, cwd=repo)
    assert closed.stdout.strip() == "1"  # loopback only
    assert int(opened.stdout.strip()) > 1


def test_exec_none_warns_on_every_run(make_repo):
    repo = make_repo({"a.txt": "a\n"})
    done = codeagent("exec", "--sandbox", "none", "--", "echo hi", cwd=repo)
    assert done.returncode == 0 and done.stdout == "hi\n"
    assert "unsandboxed" in done.stderr


def _path_without_bwrap(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return {**os.environ, "PATH": str(bin_dir)}


def test_exec_without_bwrap_exits_4_with_hint(make_repo, tmp_path):
    repo = make_repo({"a.txt": "a\n"})
    done = codeagent("exec", "--", "true", cwd=repo, env=_path_without_bwrap(tmp_path))
    assert done.returncode == 4
    assert "bubblewrap" in done.stderr and "--sandbox none" in done.stderr


def test_exec_bad_profile_is_a_usage_error(make_repo, tmp_path):
    repo = make_repo({"a.txt": "a\n"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nnope = 1\n")
    done = codeagent("exec", "--sandbox", "none", "--profile", str(bad), "--", "true", cwd=repo)
    assert done.returncode == 2
    assert "unknown key 'limits.nope'" in done.stderr


def test_doctor_reports_everything_with_key_redacted(make_repo):
    repo = make_repo({"pyproject.toml": "[tool.pytest.ini_options]\n", "tests/test_x.py": "def test_x(): pass\n"})
    env = {**os.environ, "OPENAI_API_KEY": "sk-doctor-secret-1234", "CODEAGENT_MODEL": "gpt-test"}
    done = codeagent("doctor", "--json", "--offline", cwd=repo, env=env)
    checks = {c["name"]: c for c in map(json.loads, done.stdout.splitlines())}
    assert {"bubblewrap", "user namespaces", "limits", "git", "model", "test command"} <= set(checks)
    assert "sk-doctor-secret-1234" not in done.stdout and "****1234" in checks["model"]["detail"]
    assert "gpt-test" in checks["model"]["detail"]
    assert "pytest" in checks["test command"]["detail"]
    assert checks["git"]["status"] == "ok"


def test_doctor_without_bwrap_exits_4(make_repo, tmp_path):
    repo = make_repo({"a.txt": "a\n"})
    done = codeagent("doctor", "--json", cwd=repo, env=_path_without_bwrap(tmp_path))
    checks = {c["name"]: c for c in map(json.loads, done.stdout.splitlines())}
    assert done.returncode == 4
    assert checks["bubblewrap"]["status"] == "fail" and "apt-get install" in checks["bubblewrap"]["detail"]


def test_profile_from_config_is_used_and_checked(make_repo, tmp_path):
    repo = make_repo({"a.txt": "a\n"})
    profile = tmp_path / "p.toml"
    profile.write_text('extends = "default"\n[env.set]\nFROM_PROFILE = "yes"\n')
    env = {**os.environ, "CODEAGENT_SANDBOX_PROFILE": str(profile)}
    done = codeagent("exec", "--sandbox", "none", "--", "echo $FROM_PROFILE", cwd=repo, env=env)
    assert done.stdout == "yes\n"
    env["CODEAGENT_SANDBOX_PROFILE"] = "nope"
    done = codeagent("doctor", "--json", cwd=repo, env=env)
    checks = {c["name"]: c for c in map(json.loads, done.stdout.splitlines())}
    assert checks["sandbox"]["status"] == "fail" and "unknown sandbox profile 'nope'" in checks["sandbox"]["detail"]
