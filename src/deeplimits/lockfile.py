"""The pip lock file and the conda environment made from it, so the two never disagree.

`python -m deeplimits.lockfile` rewrites envs/deeplimits.yaml from requirements.lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
CONDA_ENV = REPO_ROOT / "envs" / "deeplimits.yaml"
PYTHON = "3.11"


def read_lock(path: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"{path}: every line must pin an exact version (name==version), got {line!r}")
        pins[name.lower()] = version
    return pins


def conda_env_text(pins: dict[str, str]) -> str:
    lines = [
        "# Conda environment for `snakemake --sdm conda`. Generated from requirements.lock by",
        "# `python -m deeplimits.lockfile`; a test checks the two agree. Do not edit by hand.",
        "name: deeplimits",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={version}" for name, version in sorted(pins.items())]
    return "\n".join(lines) + "\n"


def main() -> int:
    CONDA_ENV.write_text(conda_env_text(read_lock()))
    print(f"wrote {CONDA_ENV}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
