"""The task schema: validation with line numbers, path resolution, bundled-only fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeagent.batch.tasks import load_tasks
from codeagent.errors import ConfigError


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def good(task_id: str, **extra) -> str:
    return json.dumps({"id": task_id, "repo": "repos/a", "instruction": "fix it", **extra})


def test_valid_lines_load_and_relative_repo_resolves_against_the_file(tmp_path):
    f = write(tmp_path / "tasks.jsonl", good("a", test_cmd="pytest", horizon="short", attempts=3, max_steps=5), "",
              good("b"))
    loaded = load_tasks(f)
    assert loaded.errors == []
    assert [t.id for t in loaded.tasks] == ["a", "b"]
    assert loaded.tasks[0].repo == str((tmp_path / "repos" / "a").resolve())
    assert loaded.tasks[0].budgets() == {"max_steps": 5}
    assert loaded.tasks[0].attempts == 3


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_load(tmp_path):
    f = write(
        tmp_path / "tasks.jsonl",
        good("ok1"),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"id": "x", "repo": "r"}),  # no instruction
        good("typo", atempts=2),
        good("ok1"),  # duplicate
        good("bad id!"),
        json.dumps({"id": "remote", "repo": "https://example.org/x.git", "instruction": "i"}),
        good("neg", attempts=0),
        good("ok2"),
    )
    loaded = load_tasks(f)
    assert [t.id for t in loaded.tasks] == ["ok1", "ok2"]
    errors = {e.line: e.message for e in loaded.errors}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "not valid JSON" in errors[2]
    assert "expected a JSON object" in errors[3]
    assert "instruction: required field is missing" in errors[4]
    assert "atempts: unknown field" in errors[5]
    assert "duplicate id 'ok1' (first on line 1)" in errors[6]
    assert errors[7].startswith("id:")
    assert "needs 'commit'" in errors[8]
    assert errors[9].startswith("attempts:")
    assert str(loaded.errors[0]).startswith("line 2: ")


def test_scripted_field_is_only_for_bundled_suites(tmp_path):
    f = write(tmp_path / "tasks.jsonl", good("s", scripted="smoke/fix_add"))
    assert "only accepted in bundled suites" in load_tasks(f).errors[0].message
    assert load_tasks(f, allow_scripted=True).tasks[0].scripted == "smoke/fix_add"


def test_git_url_with_commit_is_kept_as_is(tmp_path):
    f = write(tmp_path / "t.jsonl", json.dumps({"id": "r", "repo": "git@host:o/r.git", "commit": "abc",
                                                 "instruction": "i"}))
    task = load_tasks(f).tasks[0]
    assert task.is_remote and task.repo == "git@host:o/r.git"


def test_missing_or_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such tasks file"):
        load_tasks(tmp_path / "nope.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot read"):
        load_tasks(tmp_path / "bin.jsonl")
