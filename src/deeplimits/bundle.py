"""A results bundle: a scale's analysis outputs and provenance without weights or data,
so figures, tables and the report can be rebuilt elsewhere without training."""

from __future__ import annotations

import tarfile
from pathlib import Path

from .data.download import safe_extract_tar
from .io import atomic_path

EXCLUDED_SUFFIXES = (".pt",)


def make_bundle(scale_root: str | Path, out: str | Path) -> list[str]:
    scale_root = Path(scale_root)
    if not scale_root.is_dir():
        raise FileNotFoundError(f"no results to bundle: {scale_root} does not exist")
    names = []
    with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for path in sorted(scale_root.rglob("*")):
            if path.is_file() and path.suffix not in EXCLUDED_SUFFIXES and ".papermill-" not in str(path):
                tar.add(path, arcname=str(path))
                names.append(str(path))
    return names


def unpack_bundle(archive: str | Path, dest: str | Path = ".") -> list[Path]:
    return safe_extract_tar(archive, dest)
