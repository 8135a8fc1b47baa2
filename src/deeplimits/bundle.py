"""A results bundle: a scale's analysis outputs and provenance without trained weights,
checkpoints or datasets, so figures, tables and the report can be rebuilt elsewhere
without training. Analysis outputs stay, tensors among them (TvG's minimisers)."""

from __future__ import annotations

import tarfile
from pathlib import Path

from .data.download import safe_extract_tar
from .io import atomic_path

# Prepared datasets (data/) and TvG's per-depth intermediate solutions (work/) are left
# out, and so are the tensors of training cells (weights, checkpoints); their metrics and
# provenance travel. Everything else is an analysis output.
EXCLUDED_FOLDERS = ("data", "work")


def _excluded(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p in EXCLUDED_FOLDERS for p in parts[:-1]) or ".papermill-" in str(path):
        return True
    return parts[0] == "train" and path.suffix == ".pt"


def make_bundle(scale_root: str | Path, out: str | Path) -> list[str]:
    scale_root = Path(scale_root)
    if not scale_root.is_dir():
        raise FileNotFoundError(f"no results to bundle: {scale_root} does not exist")
    names = []
    with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for path in sorted(scale_root.rglob("*")):
            if path.is_file() and not _excluded(path, scale_root):
                tar.add(path, arcname=str(path))
                names.append(str(path))
    return names


def unpack_bundle(archive: str | Path, dest: str | Path = ".") -> list[Path]:
    return safe_extract_tar(archive, dest)
