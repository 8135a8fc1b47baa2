"""A checksummed snapshot of analysis results (text files only) that travels with the
repository, e.g. artifacts/paper-cpu/: the claim files and tables a long run produced, so a
reader can open them and CI can re-render from them without retraining.

MANIFEST.json lists every file with its SHA-256, and the commit, machine, time and training
wall time of what was snapshot. `verify_snapshot` refuses a snapshot whose files differ from
their manifest, naming the file.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from pathlib import Path

from .io import write_json
from .provenance import cpu_model, git_commit, package_versions

MANIFEST = "MANIFEST.json"
# Text only: no weights, checkpoints, datasets or rendered HTML.
SUFFIXES = (".json", ".csv", ".md")
# A guard on what a commit carries: the redesigned claims' figure tables at paper scale (XZ.2
# to 16384 layers, CRX.3 to L = 2048, TvG to N = 512) pass 5 MB together.
MAX_BYTES = 8 * 2**20


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _carried(rel: Path, claims_only: bool) -> bool:
    """Whether a results file goes into a snapshot. A sensitivity rerun (a folder under
    `sensitivity/`) carries its claim file alone: its row is in the claim's sensitivity table,
    and its own tables (a copy of the main run's curves under one changed choice) feed no
    figure, yet at paper scale they would take a quarter of the allowance."""
    is_claim = rel.name.startswith("claim") and rel.suffix == ".json"
    in_rerun = "sensitivity" in rel.parts[:-1]
    if claims_only:
        return is_claim and not in_rerun
    return rel.suffix in SUFFIXES and (is_claim or not in_rerun)


def make_snapshot(scale_root, paths: list[str], out_dir, *, note: str = "", claims_only: bool = False) -> dict:
    """Copy the text files of `paths` (relative to `scale_root`; a folder is taken whole) into
    `out_dir` and write its manifest (a sensitivity rerun gives its claim file alone); with
    `claims_only`, the claim files alone (claim*.json, sensitivity runs left out)."""
    scale_root, out_dir = Path(scale_root), Path(out_dir)
    files = []
    for rel in paths:
        src = scale_root / rel
        if not src.exists():
            raise FileNotFoundError(f"snapshot: {src} does not exist")
        found = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        files += [p for p in found if _carried(p.relative_to(scale_root), claims_only)]
    size = sum(p.stat().st_size for p in files)
    if size > MAX_BYTES:
        raise ValueError(f"snapshot: {size / 2**20:.1f} MB of files, more than the {MAX_BYTES / 2**20:.0f} MB allowed")
    entries = {}
    for p in files:
        rel = p.relative_to(scale_root).as_posix()
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
        entries[rel] = _sha256(dest)
    train = [json.loads(p.read_text()) for p in sorted((scale_root / "train").rglob("provenance.json"))]
    manifest = {
        "source": str(scale_root), "commit": git_commit(), "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(), "cpu_model": cpu_model(),
        "versions": package_versions(),
        "training_cells": len(train),
        "training_wall_time_s": round(sum(r.get("wall_time_s") or 0.0 for r in train), 1),
        "note": note, "files": entries,
    }
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def restore_snapshot(snapshot, dest) -> list[str]:
    """Copy a verified snapshot's files into a scale's results folder (e.g. results/paper), so
    the figure rules can re-render from them. A file already there is kept when it is the same;
    one that differs is an error naming it (the results of a run are never overwritten).
    Returns the files copied."""
    snapshot, dest = Path(snapshot), Path(dest)
    manifest = verify_snapshot(snapshot)
    clashes = [rel for rel, digest in manifest["files"].items()
               if (dest / rel).exists() and _sha256(dest / rel) != digest]
    if clashes:
        raise ValueError(f"restore: {dest / clashes[0]} differs from the snapshot's copy ({len(clashes)} files do); "
                         "move the run's results aside to render from the snapshot")
    copied = []
    for rel in manifest["files"]:
        target = dest / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".restoring")
            shutil.copyfile(snapshot / rel, tmp)
            tmp.replace(target)
            copied.append(rel)
    return copied


def verify_snapshot(out_dir) -> dict:
    """The manifest, after checking every file against it; a ValueError names the first file
    that is missing, changed, or not in the manifest."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"snapshot: {manifest_path} is missing")
    manifest = json.loads(manifest_path.read_text())
    for rel, digest in manifest["files"].items():
        path = out_dir / rel
        if not path.exists():
            raise ValueError(f"snapshot: {path} is listed in {MANIFEST} but missing")
        if _sha256(path) != digest:
            raise ValueError(f"snapshot: {path} differs from its SHA-256 in {MANIFEST}")
    extra = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
                   if p.is_file() and p.name != MANIFEST and p.relative_to(out_dir).as_posix() not in manifest["files"])
    if extra:
        raise ValueError(f"snapshot: {out_dir / extra[0]} is not in {MANIFEST}")
    return manifest
