"""`codeagent map` and `codeagent context` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

FILES = {
    "shop/cart.py": "class Cart:\n    def checkout(self, coupon=None):\n        raise ValueError('coupon expired')\n",
    "shop/cli.py": "import argparse\n\ndef main():\n    p = argparse.ArgumentParser()\n    p.add_argument('--dry-run')\n",
    "docs/guide.md": "How to shop.\n",
}


def run(repo, *args):
    return subprocess.run([sys.executable, "-m", "codeagent.cli.main", *args], cwd=repo, capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_context_json_lists_ranked_files(make_repo):
    repo = make_repo(FILES)
    done = run(repo, "context", "the --dry-run flag does nothing", "--json", "--top-k", "2")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["path"] == "shop/cli.py" and lines[0]["kind"] == "ranked_file"
    assert "contains '--dry-run'" in lines[0]["reasons"]
    assert len(lines) <= 2 and all(set(item) == {"path", "score", "reasons", "role", "kind"} for item in lines)


def test_context_table_and_map(make_repo):
    repo = make_repo(FILES)
    table = run(repo, "context", "Cart checkout fails with 'coupon expired'")
    assert table.returncode == 0 and "shop/cart.py" in table.stdout
    shown = run(repo, "map", "--query", "Cart checkout", "--tokens", "200")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("shop/cart.py:\n") and "def checkout(self, coupon=None):" in shown.stdout


def test_bad_flags_exit_2(make_repo):
    repo = make_repo(FILES)
    assert run(repo, "context", "x", "--top-k", "0").returncode == 2
    bad = run(repo, "map", "--tokens", "-5")
    assert bad.returncode == 2 and "--tokens" in bad.stderr
