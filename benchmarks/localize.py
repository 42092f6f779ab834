"""Localization benchmark: does `ContextEngine.rank` (what `codeagent context` and
the run's prompt use) put the files a real fix touched at the top?

Real bug reports from SWE-bench Lite (repositories other than django/django, which
is held back and never read here), each against the PyPI release of its project's
version. A case counts at k when ALL files the gold patch changed are in the top k.
A plain BM25 over the files' text, on the same trees and file lists, runs beside.

    python benchmarks/localize.py [--prepare-only] [--repo sympy] [--limit N] [--show-misses]

Data, all under benchmarks/.data/ (gitignored):
  swe-bench-lite.json   the SWE-bench Lite test split as a JSON list (fields repo,
                        instance_id, version, problem_statement, patch), e.g. exported
                        from the Hugging Face dataset princeton-nlp/SWE-bench_Lite
  sdists/               `pip download --no-deps --no-binary :all: PKG==VERSION`
  localize/PKG-VERSION  each sdist unpacked and committed as a git repo
When pip fetches an sdist but cannot prepare its metadata (old setup.py builds), the
source it unpacked is kept (`pip download --no-clean --no-build-isolation`: no build
requirements are installed, so an old build fails fast). A version with no release of
its own (X.Y.0) takes the newest X.Y.*; one with neither is skipped, and counted.
The time per query is the engine's rank() on a warm in-process index.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
INSTANCES = DATA / "swe-bench-lite.json"
SDISTS = DATA / "sdists"
TREES = DATA / "localize"
CACHE = DATA / "localize-cache"
HELD_BACK = "django/django"
PYPI = {
    "sympy/sympy": "sympy",
    "sphinx-doc/sphinx": "sphinx",
    "scikit-learn/scikit-learn": "scikit-learn",
    "matplotlib/matplotlib": "matplotlib",
    "astropy/astropy": "astropy",
    "psf/requests": "requests",
    "pallets/flask": "flask",
    "pytest-dev/pytest": "pytest",
    "pydata/xarray": "xarray",
    "pylint-dev/pylint": "pylint",
    "mwaskom/seaborn": "seaborn",
}
KS = (1, 5, 10)
DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)


def load_instances(path: Path) -> list[dict]:
    items = json.loads(path.read_text())
    return [i for i in items if i["repo"] != HELD_BACK and i["repo"] in PYPI]


def gold_files(patch: str) -> list[str]:
    return list(dict.fromkeys(b for _, b in DIFF_FILE.findall(patch)))


# --- trees ------------------------------------------------------------------

def _download(spec: str) -> Path | None:
    """The sdist pip downloads for `spec`: the archive, or, when pip fetched it but
    could not prepare its metadata (old setup.py builds), the source pip unpacked."""
    SDISTS.mkdir(parents=True, exist_ok=True)
    before = set(SDISTS.iterdir())
    with tempfile.TemporaryDirectory(prefix="localize-pip-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-clean", "--no-build-isolation", "--no-deps", "--no-binary", ":all:", "-q",
             spec, "-d", str(SDISTS)],
            capture_output=True, text=True, timeout=900, env={**os.environ, "TMPDIR": tmp},
        )
        name = re.compile(spec.partition("==")[0].replace("-", "[-_]") + r"-\d", re.I)
        new = [p for p in set(SDISTS.iterdir()) - before if p.name.endswith((".tar.gz", ".zip")) and name.match(p.name)]
        if new:
            return new[0]
        unpacked = [d for d in Path(tmp).glob("pip-download-*/*") if (d / "PKG-INFO").is_file()]
        if done.returncode != 0 and unpacked:
            version = _pkg_version(unpacked[0])
            dest = SDISTS / f"{spec.partition('==')[0]}-{version}.src"
            if not dest.exists():
                shutil.copytree(unpacked[0], dest, symlinks=True)
            return dest
    return None


def _pkg_version(source: Path) -> str:
    for line in (source / "PKG-INFO").read_text("utf-8", "replace").splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _cached_sdist(spec: str) -> list[Path]:
    name, _, version = spec.partition("==")
    stem = name.replace("-", "[-_]")
    pattern = re.compile(rf"^{stem}-{re.escape(version.rstrip('.*'))}(\.0)*[.\d]*\.(tar\.gz|zip|src)$", re.I)
    return sorted(p for p in SDISTS.iterdir() if pattern.match(p.name)) if SDISTS.is_dir() else []


def tree_for(repo: str, version: str) -> tuple[Path | None, str]:
    """The unpacked release for (repo, version), and which release it is ("" if none)."""
    name = PYPI[repo]
    marker = TREES / f"{name}-{version}.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        return (Path(info["tree"]) if info["tree"] else None), info["release"]
    tree, release = None, ""
    for spec in (f"{name}=={version}", f"{name}=={version}.*"):
        sdist = (_cached_sdist(spec) or [None])[0] or _download(spec)
        if sdist is not None:
            tree, release = _unpack(sdist, TREES / f"{name}-{version}"), sdist.name
            break
    TREES.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"tree": str(tree) if tree else "", "release": release}))
    return tree, release


def _unpack(sdist: Path, dest: Path) -> Path:
    if not (dest / ".git").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        if sdist.is_dir():
            shutil.copytree(sdist, dest, symlinks=True, dirs_exist_ok=True)
        elif sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as z:
                z.extractall(dest)
        else:
            with tarfile.open(sdist) as tar:
                tar.extractall(dest, filter="data")
        inner = [p for p in dest.iterdir() if p.is_dir()]
        if len(inner) == 1 and not any(p.is_file() for p in dest.iterdir()):
            for child in inner[0].iterdir():
                child.rename(dest / child.name)
            inner[0].rmdir()
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
        subprocess.run([*git, "add", "-A", "-f"], cwd=dest, check=True)
        subprocess.run([*git, "commit", "-q", "-m", sdist.name], cwd=dest, check=True)
    return dest


# --- BM25 baseline -------------------------------------------------------------

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PlainBM25:
    """BM25 over each file's words (lower-cased, no identifier splitting, no stemming)."""

    def __init__(self, root: Path, paths: list[str], k1: float = 1.2, b: float = 0.75):
        self.paths, self.k1, self.b = paths, k1, b
        self.tf: list[Counter] = []
        self.df: Counter = Counter()
        for p in paths:
            try:
                words = Counter(w.lower() for w in WORD.findall((root / p).read_text("utf-8", "replace")))
            except OSError:
                words = Counter()
            self.tf.append(words)
            self.df.update(words.keys())
        self.lengths = [sum(c.values()) for c in self.tf]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.tf):
            for w in c:
                self.postings[w].append(i)

    def rank(self, query: str, top_k: int) -> list[str]:
        n = len(self.paths)
        scores: dict[int, float] = defaultdict(float)
        for w in set(w.lower() for w in WORD.findall(query)):
            docs = self.postings.get(w, ())
            if not docs:
                continue
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for i in docs:
                tf = self.tf[i][w]
                scores[i] += idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg))
        best = sorted(scores, key=lambda i: (-scores[i], self.paths[i]))[:top_k]
        return [self.paths[i] for i in best]


# --- the run -------------------------------------------------------------------

def hits(ranked: list[str], gold: list[str]) -> dict[int, bool]:
    return {k: all(g in ranked[:k] for g in gold) for k in KS}


def evaluate(instances: list[dict], show_misses: bool, available_only: bool = False, save: Path | None = None) -> None:
    from codeagent.context import ContextEngine

    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for inst in instances:
        groups[(inst["repo"], inst["version"])].append(inst)
    ours: list[dict[int, bool]] = []
    base: list[dict[int, bool]] = []
    per_repo: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    times: list[float] = []
    skipped: Counter = Counter()
    releases = []
    for (repo, version), items in sorted(groups.items()):
        if available_only and not (TREES / f"{PYPI[repo]}-{version}.json").exists():
            skipped["not prepared yet (--available)"] += len(items)
            continue
        tree, release = tree_for(repo, version)
        if tree is None:
            skipped["no sdist could be prepared"] += len(items)
            continue
        releases.append(release)
        with ContextEngine(tree, cache_dir=CACHE) as engine:
            paths = engine.files()
            present = set(paths)
            bm25 = PlainBM25(tree, paths)
            for inst in items:
                gold = gold_files(inst["patch"])
                if not gold or not all(g in present for g in gold):
                    skipped["a gold file is not in the release"] += 1
                    continue
                t = time.perf_counter()
                mine = [f.path for f in engine.rank(inst["problem_statement"], top_k=max(KS), refresh=False)]
                times.append(time.perf_counter() - t)
                theirs = bm25.rank(inst["problem_statement"], max(KS))
                ours.append(hits(mine, gold))
                base.append(hits(theirs, gold))
                per_repo[repo].append((ours[-1], base[-1]))
                if save is not None:
                    with save.open("a") as out:
                        out.write(json.dumps({"id": inst["instance_id"], "repo": repo, "release": release,
                                              "ours": mine, "bm25": theirs, "gold": gold, "seconds": times[-1]}) + "\n")
                if show_misses and not ours[-1][5]:
                    where = [mine.index(g) + 1 if g in mine else "-" for g in gold]
                    print(f"miss {inst['instance_id']:36} gold {gold} at {where}; top3 {mine[:3]}", file=sys.stderr)
    report(ours, base, per_repo, times, skipped, releases)


def report_saved(files: list[Path]) -> None:
    """The report over rows saved by earlier runs (--save), e.g. of disjoint --repo sets."""
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    rows = list({r["id"]: r for r in rows}.values())
    ours = [hits(r["ours"], r["gold"]) for r in rows]
    base = [hits(r["bm25"], r["gold"]) for r in rows]
    per_repo: dict[str, list] = defaultdict(list)
    for r, a, b in zip(rows, ours, base):
        per_repo[r["repo"]].append((a, b))
    report(ours, base, per_repo, [r["seconds"] for r in rows], Counter(), sorted({r["release"] for r in rows}))


def _recall(rows: list[dict[int, bool]]) -> str:
    if not rows:
        return "   -  /   -  /   - "
    return " / ".join(f"{sum(r[k] for r in rows) / len(rows):.3f}" for k in KS)


def report(ours, base, per_repo, times, skipped, releases) -> None:
    print(f"SWE-bench Lite without {HELD_BACK}: {len(ours)} instances from {len(per_repo)} repositories, "
          f"{len(releases)} releases (PyPI sdists)")
    for reason, count in skipped.items():
        print(f"  skipped {count}: {reason}")
    print(f"{'':28} recall@1 / @5 / @10   (all gold files in the top k)")
    print(f"{'codeagent rank':28} {_recall(ours)}")
    print(f"{'plain BM25 over file text':28} {_recall(base)}")
    for repo, rows in sorted(per_repo.items()):
        print(f"  {repo:26} n={len(rows):3}  codeagent {_recall([a for a, _ in rows])}   bm25 {_recall([b for _, b in rows])}")
    if times:
        print(f"median time per query (warm index, in process): {statistics.median(times) * 1000:.0f} ms"
              f"   (max {max(times) * 1000:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=INSTANCES)
    parser.add_argument("--repo", default="", help="only repositories whose name contains one of these (comma-separated)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many instances (in file order)")
    parser.add_argument("--prepare-only", action="store_true", help="download and unpack the releases, then stop")
    parser.add_argument("--save", type=Path, default=None, help="append each case's rankings to this JSONL file")
    parser.add_argument("--report", type=Path, nargs="+", default=None, help="only print the figures of saved runs")
    parser.add_argument("--available", action="store_true", help="only the releases already prepared")
    parser.add_argument("--show-misses", action="store_true", help="list the cases missed at 5 on stderr")
    args = parser.parse_args()
    if args.report:
        report_saved(args.report)
        return
    if not args.instances.exists():
        sys.exit(f"{args.instances} is missing: export SWE-bench Lite's test split there as a JSON list")
    wanted = args.repo.split(",")
    instances = [i for i in load_instances(args.instances) if any(w in i["repo"] for w in wanted)]
    if args.limit:
        instances = instances[: args.limit]
    if args.prepare_only:
        for repo, version in sorted({(i["repo"], i["version"]) for i in instances}):
            tree, release = tree_for(repo, version)
            print(f"{repo} {version}: {release or 'NONE'}", flush=True)
        return
    evaluate(instances, args.show_misses, args.available, args.save)


if __name__ == "__main__":
    main()
