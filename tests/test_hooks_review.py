"""`review` mode: the secret scan, the model's findings, severity threshold, fallbacks."""

from __future__ import annotations

import json

from codeagent.config import load_settings
from codeagent.errors import ModelUnavailableError
from codeagent.hooks.install import install
from codeagent.hooks.review import added_lines, parse_findings, redact_secrets, scan_diff
from codeagent.hooks.precommit import run_precommit
from codeagent.models.scripted import ScriptedModel, tool
from test_hooks_support import CALC, PROJECT, hook_env, run_git, run_hook

AWS = "AKIA" + "Q7RTZ3XWVUTSRKEY"  # built, so no scanner flags this file
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
DIFF = f"""diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -10,3 +10,6 @@ def main():
     setup()
+    key = "{AWS}"
+    breakpoint()
     run()
+password = "changeme-placeholder"
+db_password = "s3cr3t-Pa55w0rd!"
diff --git a/web/app.js b/web/app.js
--- a/web/app.js
+++ b/web/app.js
@@ -1,1 +1,2 @@
 start();
+console.log("token", "{GH}");
"""


def settings_for(repo, test_cmd="true", **precommit):
    """Review tests are about findings: the test check is a no-op unless asked for."""
    settings = load_settings(repo, {"sandbox": "none", "test_cmd": test_cmd}).settings
    return settings.model_copy(update={"precommit": settings.precommit.model_copy(update=precommit)})


def test_added_lines_carry_new_file_line_numbers():
    lines = list(added_lines(DIFF))
    assert lines[0] == ("app.py", 11, f'    key = "{AWS}"')
    assert lines[2][:2] == ("app.py", 14)
    assert lines[-1][:2] == ("web/app.js", 2)


def test_scan_finds_keys_and_debug_leftovers_and_masks_them():
    found = {(f.file, f.line, f.category, f.severity) for f in scan_diff(DIFF)}
    assert ("app.py", 11, "secret", "high") in found
    assert ("app.py", 12, "debug", "medium") in found
    assert ("app.py", 15, "secret", "medium") in found  # db_password
    assert ("web/app.js", 2, "secret", "high") in found
    assert not any(line == 14 for _, line, _, _ in found)  # a placeholder value is not a secret
    messages = " ".join(f.message for f in scan_diff(DIFF))
    assert AWS not in messages and GH not in messages and "AKIA****" in messages
    redacted = redact_secrets(DIFF)
    assert AWS not in redacted and GH not in redacted and "[REDACTED]" in redacted


def test_parse_findings_keeps_good_entries_and_notes_bad_ones():
    payload = json.dumps({"findings": [
        {"file": "a.py", "line": 3, "severity": "HIGH", "category": "bug", "message": "off by one"},
        {"file": "a.py", "severity": "extreme", "line": 1, "message": "?"},
        {"file": "zzz.py", "line": 1, "severity": "low", "category": "bug", "message": "not staged"},
        {"line": 2},
    ]})
    findings, notes = parse_findings(payload, {"a.py"})
    assert [(f.file, f.line, f.severity) for f in findings] == [("a.py", 3, "high")]
    assert len(notes) == 3
    assert parse_findings("not json", set())[0] == []


def staged_change(make_repo, text):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(text)
    run_git(repo, "add", "calc.py")
    return repo


def findings_call(*findings):
    return tool("report_findings", findings=[
        {"file": f, "line": n, "severity": s, "category": c, "message": m} for f, n, s, c, m in findings])


def test_review_blocks_on_a_high_finding_and_prints_file_line(make_repo):
    repo = staged_change(make_repo, CALC.replace("return a - b", "return b - a"))
    model = ScriptedModel([findings_call(("calc.py", 6, "high", "bug", "sub swaps its operands"))])
    outcome = run_precommit(repo, settings_for(repo), mode="review", model=model)
    model.assert_complete()
    assert outcome.exit_code == 1 and [f.where() for f in outcome.blocking_findings] == ["calc.py:6"]
    prompt = model.calls[0]["messages"][0].content
    assert "return b - a" in prompt and "report_findings" in model.calls[0]["tools"]


def test_review_passes_below_the_threshold_and_reads_json_text(make_repo):
    repo = staged_change(make_repo, CALC + "\n\ndef mul(a, b):\n    return a * b\n")
    reply = 'Here you go:\n```json\n{"findings": [{"file": "calc.py", "line": 9, "severity": "medium", ' \
            '"category": "bug", "message": "no test for mul"}]}\n```'
    outcome = run_precommit(repo, settings_for(repo), mode="review", model=ScriptedModel([reply]))
    assert outcome.exit_code == 0 and outcome.findings[0].where() == "calc.py:9"
    outcome = run_precommit(repo, settings_for(repo, block_severity="medium"), mode="review",
                            model=ScriptedModel([reply]))
    assert outcome.exit_code == 1


def test_secrets_are_blocked_without_a_model_and_never_sent_to_one(make_repo):
    repo = staged_change(make_repo, CALC + f'\nAPI_KEY = "{AWS}"\n')
    proc = run_hook(repo, "--mode", "review", env=hook_env(CODEAGENT_SANDBOX="none", CODEAGENT_TEST_CMD="true"))
    assert proc.returncode == 1, proc.stderr
    assert "calc.py:8: high secret [BLOCKS]" in proc.stderr and AWS not in proc.stderr
    assert "no model available" in proc.stderr and "secret scan only" in proc.stderr
    model = ScriptedModel([findings_call()])
    outcome = run_precommit(repo, settings_for(repo), mode="review", model=model)
    assert outcome.exit_code == 1
    assert AWS not in model.calls[0]["messages"][0].content


def test_a_model_failure_falls_back_unless_configured_to_block(make_repo):
    repo = staged_change(make_repo, CALC + "# harmless\n")
    broken = ScriptedModel([ModelUnavailableError("endpoint unreachable")])
    outcome = run_precommit(repo, settings_for(repo), mode="review", model=broken)
    assert outcome.exit_code == 0 and any("endpoint unreachable" in n for n in outcome.notes)
    broken = ScriptedModel([ModelUnavailableError("endpoint unreachable")])
    outcome = run_precommit(repo, settings_for(repo, block_on_model_error=True), mode="review", model=broken)
    assert outcome.exit_code == 1


def test_review_still_runs_the_checks(make_repo):
    repo = staged_change(make_repo, CALC.replace("a + b", "a - b"))
    outcome = run_precommit(repo, settings_for(repo, test_cmd=None), mode="review",
                            model=ScriptedModel([findings_call()]))
    assert outcome.exit_code == 1 and outcome.findings == []
    assert outcome.checks[-1].failed == ["tests/test_calc.py::test_add"]


def test_git_commit_in_review_mode_blocks_on_the_endpoints_finding(make_repo):
    from openai_server import OpenAIServer, Turn

    repo = make_repo(PROJECT)
    install(repo, "review")
    (repo / "calc.py").write_text(CALC + "\n\ndef div(a, b):\n    return a // b\n")  # the tests still pass
    run_git(repo, "add", "calc.py")
    finding = {"file": "calc.py", "line": 10, "severity": "high", "category": "bug", "message": "div truncates"}
    with OpenAIServer() as server:
        server.push(Turn(tool_calls=[("report_findings", {"findings": [finding]})]))
        env = hook_env(CODEAGENT_SANDBOX="none", CODEAGENT_MODEL="local", CODEAGENT_STREAM="false",
                       OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-local-test")
        proc = run_git(repo, "commit", "-m", "calc", env=env, check=False)
        sent = server.chat_requests[0].body
    assert proc.returncode != 0
    assert "calc.py:10: high bug [BLOCKS] div truncates" in proc.stderr
    assert "[ok] tests: affected tests: 2 passed" in proc.stderr
    assert sent["tools"][0]["function"]["name"] == "report_findings"
    assert run_git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "1"
