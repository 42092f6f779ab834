"""The validator in front of every tool: schema checks, coercions, other agents' names,
and tool calls written as text."""

from __future__ import annotations

import json

import pytest

from codeagent.agent.textcalls import extract_tool_calls
from codeagent.agent.validate import APPLY_PATCH, resolve_call


@pytest.mark.parametrize("raw, expected", [
    ('{"path": "a.py", "offset": "5", "limit": 10.0}', {"path": "a.py", "offset": 5, "limit": 10}),
    ('{"path": "a.py", "offset": null}', {"path": "a.py"}),
    ('"{\\"path\\": \\"a.py\\"}"', {"path": "a.py"}),  # encoded twice
    ({"path": "a.py"}, {"path": "a.py"}),  # some servers send an object
])
def test_unambiguous_coercions(raw, expected):
    r = resolve_call("read_file", raw)
    assert r.error is None and r.args == expected


def test_wrong_type_names_parameter_type_and_value():
    r = resolve_call("read_file", '{"path": "a.py", "offset": "abc"}')
    assert "'offset'" in r.error and "an integer" in r.error and '"abc"' in r.error
    assert "path (string)" in r.error  # the parameters are listed for the retry


@pytest.mark.parametrize("name, raw, error", [
    ("edit_file", '{"path": "a.py", "old": "x"}', "missing required parameter 'new'"),
    ("write_file", '{"path": ["a"], "content": ""}', "'path' must be a string"),
    ("edit_file", '{"path": "a", "old": "x", "new": "y", "replace_all": "maybe"}', "'replace_all' must be true or false"),
    ("update_plan", '{"steps": [{"what": "x", "status": "later"}]}', "'steps[0].status' must be one of"),
    ("run_tests", '{"selection": {"a": 1}}', "'selection' must be a list"),
    ("read_file", "null", "missing required parameter 'path'"),
    ("read_file", '"a.py"', "must be a JSON object"),
    ("read_file", '{"path": "a.py', "the text looks cut off"),
])
def test_errors_name_the_parameter(name, raw, error):
    assert error in resolve_call(name, raw).error


def test_list_from_one_string_and_from_json_text():
    assert resolve_call("run_tests", '{"selection": "tests/test_a.py"}').args == {"selection": ["tests/test_a.py"]}
    assert resolve_call("run_tests", '{"selection": "[\\"a\\", \\"b\\"]"}').args == {"selection": ["a", "b"]}
    assert resolve_call("run_tests", "null").args == {}


def test_unknown_parameters_are_dropped_with_a_note():
    r = resolve_call("list_files", '{"path": ".", "recursive": true}')
    assert r.args == {"path": "."} and "recursive" in r.notes[0]


@pytest.mark.parametrize("name, args, tool, expected", [
    ("bash", {"command": "ls"}, "run_command", {"command": "ls"}),
    ("shell", {"cmd": "ls"}, "run_command", {"command": "ls"}),
    ("str_replace_based_edit_tool", {"command": "view", "path": "a.py", "view_range": [3, 7]},
     "read_file", {"path": "a.py", "offset": 3, "limit": 5}),
    ("str_replace_based_edit_tool", {"command": "str_replace", "path": "a.py", "old_str": "x", "new_str": "y"},
     "edit_file", {"path": "a.py", "old": "x", "new": "y"}),
    ("str_replace_editor", {"command": "create", "path": "b.py", "file_text": "z"},
     "write_file", {"path": "b.py", "content": "z"}),
    ("edit_file", {"file_path": "a.py", "old_string": "x", "new_string": "y"},
     "edit_file", {"path": "a.py", "old": "x", "new": "y"}),
    ("apply_patch", {"input": "*** Begin Patch\n*** End Patch"}, APPLY_PATCH, {"patch": "*** Begin Patch\n*** End Patch"}),
])
def test_other_agents_tools_map_onto_ours(name, args, tool, expected):
    r = resolve_call(name, json.dumps(args))
    assert (r.error, r.tool, r.args) == (None, tool, expected)
    assert r.notes or name == tool


def test_unmappable_tools_are_refused_with_the_list():
    r = resolve_call("str_replace_based_edit_tool", '{"command": "undo_edit", "path": "a"}')
    assert "unknown tool" in r.error and "read_file" in r.error
    assert "unknown tool 'web_fetch'" in resolve_call("web_fetch", "{}").error


def test_tool_calls_written_as_text():
    text = ('I will read it.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>\n'
            '<tool_call>{"name": "run_tests", "arguments": {}}</tool_call>')
    calls = extract_tool_calls(text, step=3)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("read_file", {"path": "a.py"}), ("run_tests", {})]
    assert len({c.id for c in calls}) == 2
    fenced = 'Next:\n```json\n{"name": "search", "parameters": {"pattern": "def f"}}\n```'
    assert [c.name for c in extract_tool_calls(fenced)] == ["search"]


@pytest.mark.parametrize("text", [
    '```json\n{"name": "my-package", "version": "1.0"}\n```',  # a JSON file, not a call
    '<tool_call>{"name": "read_file", "arguments": </tool_call>',  # broken JSON
    "I think the fix is in a.py.",
])
def test_text_that_is_not_a_call_is_left_alone(text):
    assert extract_tool_calls(text) == []
