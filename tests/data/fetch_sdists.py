"""Fetch the real projects the test-intelligence tests run: PyPI source
distributions whose own test suites run offline. Idempotent: skips what is there.

    python tests/data/fetch_sdists.py   # -> tests/data/sdists/<name>-<version>/
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

PINNED = {"more-itertools": "10.5.0", "toolz": "1.0.0",  # test intelligence, realtasks
          "inflection": "0.5.1", "idna": "3.10", "tabulate": "0.9.0"}  # realtasks
HERE = Path(__file__).resolve().parent / "sdists"


def unpacked(name: str, version: str) -> Path:
    return HERE / f"{name}-{version}"


def fetch() -> list[Path]:
    HERE.mkdir(parents=True, exist_ok=True)
    missing = {n: v for n, v in PINNED.items() if not unpacked(n, v).is_dir()}
    if missing:
        specs = [f"{n}=={v}" for n, v in missing.items()]
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", *specs, "-d", str(HERE)], check=True)
    for name, version in missing.items():
        candidates = [HERE / f"{stem}-{version}.tar.gz" for stem in (name, name.replace("-", "_"))]
        archive = next(p for p in candidates if p.is_file())
        with tarfile.open(archive) as tar:
            tar.extractall(HERE, filter="data")
        top = HERE / archive.name[: -len(".tar.gz")]
        if top != unpacked(name, version):
            top.rename(unpacked(name, version))
    return [unpacked(n, v) for n, v in PINNED.items()]


if __name__ == "__main__":
    for path in fetch():
        print(f"ok {path}")
