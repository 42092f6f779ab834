"""Ranking and the repo map on a real codebase: the installed `rich` package (a
dependency of codeagent, so always present) copied into a fresh git repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import rich

from codeagent.context import ContextEngine, count_tokens


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def rich_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("richrepo")
    shutil.copytree(Path(rich.__file__).parent, repo / "rich", ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "rich")
    return repo


@pytest.fixture(scope="module")
def engine(rich_repo, tmp_path_factory):
    with ContextEngine(rich_repo, cache_dir=tmp_path_factory.mktemp("cache")) as eng:
        yield eng


def top(engine: ContextEngine, instruction: str, k: int = 5) -> list[str]:
    return [f.path for f in engine.rank(instruction, top_k=k)]


@pytest.mark.parametrize(
    ("instruction", "target"),
    [
        ("The ProgressBar renderable draws the wrong width when pulse is enabled", "rich/progress_bar.py"),
        ("Add an option to Columns so the last row is centered", "rich/columns.py"),
        ("Give `Padding` a way to pad only the left side", "rich/padding.py"),
    ],
)
def test_instruction_naming_a_class_ranks_its_file_top5(engine, instruction, target):
    assert target in top(engine, instruction)


@pytest.mark.parametrize(
    ("instruction", "target"),
    [
        # quoted as a user sees it: values filled in where the source has placeholders
        ("""Printing "[bold]hi[/italic]" fails with "closing tag '[/italic]' at position 10 doesn't match any open tag"; name the open tag instead""", "rich/markup.py"),
        ("""Parsing a colour raises "color components must be <= 255 in 'rgb(300,0,0)'"; clamp instead""", "rich/color.py"),
    ],
)
def test_instruction_quoting_an_error_message_ranks_its_file_top5(engine, instruction, target):
    ranked = engine.rank(instruction, top_k=5)
    assert target in [f.path for f in ranked]
    hit = next(f for f in ranked if f.path == target)
    assert any(r.startswith("contains") for r in hit.reasons), hit.reasons


@pytest.mark.parametrize(
    ("instruction", "target"),
    [
        ("the --indent-guides option has no effect when the theme is dark", "rich/syntax.py"),
        ("The --hyperlinks flag is ignored", "rich/markdown.py"),
    ],
)
def test_instruction_naming_a_flag_ranks_its_file_top5(engine, instruction, target):
    assert target in top(engine, instruction)


def test_ranking_is_deterministic_and_explained(engine, rich_repo, tmp_path):
    instruction = "Console.export_html drops the background color of the theme"
    first = engine.rank(instruction, top_k=10)
    assert first == engine.rank(instruction, top_k=10)
    with ContextEngine(rich_repo, cache_dir=tmp_path) as fresh:  # cold, other cache
        assert [(f.path, f.score) for f in fresh.rank(instruction, top_k=10)] == [(f.path, f.score) for f in first]
    assert first[0].path == "rich/console.py"
    assert first[0].kind == "ranked_file" and first[0].reasons
    assert [f.score for f in first] == sorted((f.score for f in first), reverse=True)


def test_unrelated_instruction_still_ranks_by_centrality(engine):
    ranked = engine.rank("zzzz qqqq", top_k=3)
    assert len(ranked) == 3  # no lexical match: the most central files
    assert ranked[0].score > 0


def test_repo_map_fits_budget_and_shows_named_definitions(engine):
    text = engine.repo_map("Table rows should support an end_section style", tokens=600)
    assert 0 < count_tokens(text) <= 600
    assert text.startswith("rich/table.py:\n")
    assert "class Table(JupyterMixin):" in text
    assert "def add_row(" in text or "def add_section(" in text
    bigger = engine.repo_map("Table rows should support an end_section style", tokens=3000)
    assert 600 < count_tokens(bigger) <= 3000 and len(bigger) > len(text)


def test_repo_map_without_query_and_zero_budget(engine):
    assert engine.repo_map("", tokens=0) == ""
    general = engine.repo_map("", tokens=500)
    assert 0 < count_tokens(general) <= 500
    assert "console.py" in general  # the most central file leads an unfocused map


def test_bad_arguments_are_config_errors(engine, tmp_path):
    from codeagent.errors import ConfigError

    with pytest.raises(ConfigError):
        engine.rank("x", top_k=0)
    with pytest.raises(ConfigError):
        engine.repo_map("x", tokens=-1)
    with pytest.raises(ConfigError):
        ContextEngine(tmp_path / "missing")
