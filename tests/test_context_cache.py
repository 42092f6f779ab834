"""The tag cache: reuse, invalidation, content-keyed reuse across roots, damage
recovery and two runs sharing one cache at the same time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from codeagent.context import ContextEngine

FILES = {
    "app/models.py": "class Invoice:\n    def total(self):\n        return sum_lines(self)\n",
    "app/lines.py": "def sum_lines(invoice):\n    return 0\n",
    "app/views.py": "from app.models import Invoice\n\ndef show(request):\n    return Invoice().total()\n",
    "README.md": "Invoices for everyone.\n",
}


def _age(path: Path, seconds: float = 10) -> None:
    """Make a file's mtime old enough that its cache entry is trusted without hashing."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def _aged_repo(make_repo, files=FILES) -> Path:
    repo = make_repo(files)
    for rel in files:
        _age(repo / rel)
    return repo


def test_second_engine_reuses_the_cache(make_repo, tmp_path):
    repo = _aged_repo(make_repo)
    cache = tmp_path / "cache"
    with ContextEngine(repo, cache_dir=cache) as first:
        stats = first.refresh()
        assert stats.parsed == 4 and stats.indexed == 4
        assert first.refresh().parsed == 0  # nothing changed: nothing read
    with ContextEngine(repo, cache_dir=cache) as second:
        stats = second.refresh()
        assert (stats.parsed, stats.hashed, stats.from_cache) == (0, 0, 4)
        assert second.rank("Invoice total")[0].path == "app/models.py"


def test_changed_added_and_removed_files_are_seen(make_repo, tmp_path):
    repo = _aged_repo(make_repo)
    with ContextEngine(repo, cache_dir=tmp_path) as engine:
        engine.refresh()
        (repo / "app/lines.py").write_text("def sum_lines(invoice):\n    return 0\n\ndef tax_rate(country):\n    return 0.2\n")
        (repo / "app/new_feature.py").write_text("def refund_everything():\n    pass\n")
        (repo / "README.md").unlink()
        stats = engine.refresh()
        assert (stats.parsed, stats.removed, stats.indexed) == (2, 1, 4)
        assert engine.rank("tax_rate by country")[0].path == "app/lines.py"
        assert engine.rank("refund_everything")[0].path == "app/new_feature.py"
        assert "README.md" not in engine.files()
    with ContextEngine(repo, cache_dir=tmp_path) as again:  # the cache agrees with the disk
        stats = again.refresh()
        assert stats.parsed == 0 and sorted(again.files()) == ["app/lines.py", "app/models.py", "app/new_feature.py", "app/views.py"]


def test_same_size_same_mtime_edit_is_caught_by_hash_while_racy(make_repo, tmp_path):
    repo = make_repo(FILES)  # fresh mtimes: entries stay "in doubt" and are re-hashed
    target = repo / "app/lines.py"
    with ContextEngine(repo, cache_dir=tmp_path) as engine:
        engine.refresh()
        st = target.stat()
        target.write_text(target.read_text().replace("sum_lines", "sum_liner"))  # same size
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
        stats = engine.refresh()
        assert stats.parsed == 1
        assert engine.rank("sum_liner")[0].path == "app/lines.py"


def test_touched_but_unchanged_file_is_not_reparsed(make_repo, tmp_path):
    repo = _aged_repo(make_repo)
    with ContextEngine(repo, cache_dir=tmp_path) as engine:
        engine.refresh()
        os.utime(repo / "app/views.py")  # new mtime, same bytes
        stats = engine.refresh()
        assert (stats.hashed, stats.parsed) == (1, 0)


def test_a_copy_of_the_repo_reuses_records_by_content(make_repo, tmp_path):
    repo = _aged_repo(make_repo)
    cache = tmp_path / "cache"
    with ContextEngine(repo, cache_dir=cache) as engine:
        engine.refresh()
    worktree = tmp_path / "worktree"
    shutil.copytree(repo, worktree)  # new root, new mtimes: like a fresh git worktree
    with ContextEngine(worktree, cache_dir=cache) as engine:
        stats = engine.refresh()
        assert (stats.parsed, stats.hashed, stats.from_cache) == (0, 4, 4)


def test_ignored_binary_and_large_files_are_skipped(make_repo, tmp_path):
    repo = make_repo({**FILES, ".gitignore": "build/\n*.log\n"})
    (repo / "build").mkdir()
    (repo / "build/generated.py").write_text("def generated(): pass\n")
    (repo / "debug.log").write_text("def logged(): pass\n")
    (repo / "untracked.py").write_text("def untracked_helper(): pass\n")
    (repo / "blob.dat").write_bytes(b"\x00\x01binary" * 100)
    (repo / "huge.py").write_text("x = 1\n" * 50_000)
    (repo / "logo.png").write_bytes(b"\x89PNG")
    with ContextEngine(repo, cache_dir=tmp_path, max_file_bytes=100_000) as engine:
        files = engine.files()
        stats = engine.last_refresh
    assert "untracked.py" in files
    for skipped in ("build/generated.py", "debug.log", "blob.dat", "huge.py", "logo.png"):
        assert skipped not in files
    assert stats.skipped == {"binary": 1, "large": 1}


def test_damaged_cache_is_moved_aside_and_rebuilt(make_repo, tmp_path):
    repo = _aged_repo(make_repo)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "repomap.sqlite").write_bytes(b"this is not a database" * 100)
    with ContextEngine(repo, cache_dir=cache) as engine:
        assert "unreadable" in engine.cache_note
        assert engine.rank("Invoice")[0].path == "app/models.py"
    assert list(cache.glob("repomap.sqlite.corrupt-*"))
    with ContextEngine(repo, cache_dir=cache) as engine:
        assert engine.cache_note == "" and engine.refresh().parsed == 0


def test_outside_git_the_tree_is_walked(tmp_path):
    root = tmp_path / "plain"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/mod.py").write_text("def plain_function(): pass\n")
    (root / ".hidden").mkdir()
    (root / ".hidden/secret.py").write_text("def hidden(): pass\n")
    (root / "node_modules").mkdir()
    (root / "node_modules/dep.js").write_text("function dep() {}\n")
    with ContextEngine(root, cache_dir=tmp_path / "cache") as engine:
        assert engine.files() == ["pkg/mod.py"]
        hit = engine.rank("'plain_function' is broken")[0]
        assert hit.path == "pkg/mod.py" and "contains 'plain_function'" in hit.reasons


RUNNER = """
import json, sys
from pathlib import Path
from codeagent.context import ContextEngine
with ContextEngine(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]), workers=2) as engine:
    ranked = engine.rank("sum_lines_7 invoice", top_k=3)
    print(json.dumps({"parsed": engine.last_refresh.parsed, "top": [f.path for f in ranked]}))
"""


def test_two_runs_share_one_cache_concurrently(make_repo, tmp_path):
    files = {f"pkg/mod_{i}.py": f"def sum_lines_{i}(invoice):\n    return helper_{i}(invoice)\n\ndef helper_{i}(x):\n    return x\n" for i in range(120)}
    repo = _aged_repo(make_repo, files)
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen([sys.executable, "-c", RUNNER, str(repo), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0]["top"] == results[1]["top"] and results[0]["top"][0] == "pkg/mod_7.py"
    assert all(r["parsed"] <= 120 for r in results)
    with ContextEngine(repo, cache_dir=cache) as engine:  # whatever they wrote is complete
        assert engine.refresh().parsed == 0 and len(engine.files()) == 120


def test_prune_forgets_deleted_roots_and_orphan_records(make_repo, tmp_path):
    from codeagent.context.cache import TagCache

    repo = _aged_repo(make_repo)
    cache = tmp_path / "cache"
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    (copy / "app/extra.py").write_text("def only_in_copy(): pass\n")
    for root in (repo, copy):
        with ContextEngine(root, cache_dir=cache) as engine:
            engine.refresh()
    shutil.rmtree(copy)
    tags = TagCache(cache / "repomap.sqlite")
    assert tags.counts() == (9, 5)
    assert tags.prune() == 1  # the record only the deleted copy used
    assert tags.counts() == (4, 4)
    tags.close()


def test_symlinks_are_not_followed(make_repo, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("def secret_outside_function(): pass\n")
    repo = make_repo(FILES)
    (repo / "link.py").symlink_to(outside)
    with ContextEngine(repo, cache_dir=tmp_path / "cache") as engine:
        assert "link.py" not in engine.files()
        assert all(f.path != "link.py" for f in engine.rank("secret_outside_function"))


def test_graph_after_an_edit_equals_a_graph_built_from_scratch(make_repo, tmp_path):
    import numpy as np

    from codeagent.context.graph import FileGraph

    files = {f"pkg/mod_{i}.py": f"from pkg.mod_{(i + 1) % 80} import f_{(i + 1) % 80}\n\ndef f_{i}():\n    return f_{(i + 1) % 80}()\n" for i in range(80)}
    repo = _aged_repo(make_repo, files)
    with ContextEngine(repo, cache_dir=tmp_path) as engine:
        before = engine.corpus().graph
        (repo / "pkg/mod_3.py").write_text("def f_3():\n    return f_10() + f_11()\n")
        after = engine.corpus().graph  # rebuilt from cached per-file arrays plus one new file
        fresh = FileGraph(engine.corpus(refresh=False).records)
    assert len(after.weight) != len(before.weight) or not np.array_equal(after.dst, before.dst)
    pairs = lambda g: sorted(zip(g.src.tolist(), g.dst.tolist(), np.round(g.weight, 9).tolist()))  # noqa: E731
    assert pairs(after) == pairs(fresh)
    assert np.allclose(after.pagerank(), fresh.pagerank())
