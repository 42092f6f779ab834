"""AGENTS.md / CODEAGENT.md from the repo root down to the working directory."""

from __future__ import annotations

from codeagent.context import load_project_instructions


def _layout(tmp_path):
    root = tmp_path / "repo"
    (root / "services/api").mkdir(parents=True)
    (root / "AGENTS.md").write_text("Use tabs.\n")
    (root / "CODEAGENT.md").write_text("Run `make test`.\n")
    (root / "services/AGENTS.md").write_text("Services use pytest-asyncio.\n")
    (root / "services/api/AGENTS.md").write_text("Never edit generated/.\n")
    return root


def test_layers_from_root_down_to_cwd_with_headings(tmp_path):
    root = _layout(tmp_path)
    text = load_project_instructions(root, cwd=root / "services/api")
    order = [text.index(h) for h in (
        "## Instructions from AGENTS.md", "## Instructions from CODEAGENT.md",
        "## Instructions from services/AGENTS.md", "## Instructions from services/api/AGENTS.md",
    )]
    assert order == sorted(order)
    assert "Use tabs." in text and "Never edit generated/." in text


def test_only_folders_on_the_way_to_cwd_count(tmp_path):
    root = _layout(tmp_path)
    (root / "other").mkdir()
    (root / "other/AGENTS.md").write_text("Other rules.\n")
    text = load_project_instructions(root, cwd=root / "services")
    assert "pytest-asyncio" in text and "generated/" not in text and "Other rules" not in text
    assert load_project_instructions(root) == load_project_instructions(root, cwd=tmp_path)  # outside: root only
    assert "pytest-asyncio" not in load_project_instructions(root)


def test_size_cap_keeps_the_deepest_and_marks_the_cut(tmp_path):
    root = _layout(tmp_path)
    (root / "AGENTS.md").write_text("root rule\n" * 2000)
    text = load_project_instructions(root, cwd=root / "services/api", max_bytes=4000)
    assert len(text.encode()) <= 4000
    assert "Never edit generated/." in text and "pytest-asyncio" in text
    assert "omitted: instruction size cap" in text


def test_no_files_and_unreadable_bytes(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    assert load_project_instructions(root) == ""
    (root / "AGENTS.md").write_bytes(b"caf\xe9 rules")
    assert "caf\ufffd rules" in load_project_instructions(root)
