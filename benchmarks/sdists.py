"""Real projects for the benchmarks: PyPI sdists downloaded into benchmarks/.data/
(gitignored) with pip, the registry's ordinary client, and unpacked there once."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def download_hint(name: str, version: str) -> str:
    return (f"pip download --no-deps --no-binary :all: {name}=={version} -d {DATA} && "
            f"tar xzf {DATA}/{name}-{version}.tar.gz -C {DATA}")


def unpacked(name: str, version: str, *, fetch: bool = False) -> Path:
    """The unpacked sdist tree; with fetch, download and unpack it if missing, else exit with the command."""
    tree = DATA / f"{name}-{version}"
    if tree.is_dir():
        return tree
    sdist = DATA / f"{name}-{version}.tar.gz"
    if not fetch and not sdist.exists():
        sys.exit(f"missing {tree}; download it first:\n    {download_hint(name, version)}")
    if not sdist.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"{name}=={version}", "-d", str(DATA)], check=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(DATA, filter="data")
    return tree
