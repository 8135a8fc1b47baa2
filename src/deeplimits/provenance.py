"""What produced a result: config, package versions, git commit, device, time."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import re
import socket
import subprocess
from pathlib import Path

from .config import REPO_ROOT, config_hash

PACKAGES = ("deeplimits", "torch", "torchvision", "numpy", "pandas", "scipy", "scikit-learn",
            "snakemake", "papermill", "seaborn", "torchdiffeq")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def device_description(device=None) -> str:
    import torch

    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(config: dict, device=None, wall_time_s: float | None = None, **extra) -> dict:
    record = {
        "config": config,
        "config_hash": config_hash(config),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "device": device_description(device),
        "host": socket.gethostname(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if wall_time_s is not None:
        record["wall_time_s"] = round(wall_time_s, 3)
    record.update(extra)
    return record


CELL_RECORD_KEYS = ("wall_time_s", "steps", "steps_per_s", "device", "git_commit")


def training_summary(cell_records: list[dict]) -> dict:
    """The run's training cells from their provenance.json records: each cell's time, steps
    and device, the total time, and the cells whose time is unknown (resumed from a
    checkpoint that did not keep it), so that the total is not read as complete."""
    cells = {rec["config"]["cell"]: {k: rec.get(k) for k in CELL_RECORD_KEYS} for rec in cell_records}
    unknown = sorted(c for c, r in cells.items() if r["wall_time_s"] is None)
    return {"training_cells": cells,
            "training_wall_time_s": round(sum(r["wall_time_s"] or 0.0 for r in cells.values()), 3),
            "cells_with_unknown_time": unknown}


def stage_wall_times(log_dir) -> dict[str, float]:
    """Sum the `<command> done in X s` lines of every rule's log, per command (stage)."""
    totals: dict[str, float] = {}
    for path in Path(log_dir).rglob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            m = re.search(r"deeplimits: (\w+) done in ([0-9.]+) s", line)
            if m:
                totals[m.group(1)] = round(totals.get(m.group(1), 0.0) + float(m.group(2)), 1)
    return totals
