"""What produced a result: config, package versions, git commit, device, time."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
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


def short_commit(commit: str) -> str:
    """The first 12 hex digits of a commit, keeping its '+dirty' mark."""
    return commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")


def device_description(device=None) -> str:
    import torch

    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    """The processor as the numbers see it: its model name (Linux; else what platform says),
    the CPU numba compiles for and torch's vector capability. Numbers made with vectorised
    sums can differ in their last digits from one such processor to another."""
    name = platform.processor() or platform.machine()
    try:
        name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), name)
    except OSError:
        pass
    import llvmlite.binding
    import torch

    return f"{name}; llvm {llvmlite.binding.get_host_cpu_name()}; torch {torch.backends.cpu.get_cpu_capability()}"


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


def run_record(results_root, log_dir) -> dict:
    """One replication run in numbers, from its logs and provenance.json: its span (the first
    job's start to the last job's end, from the logs' `<command> done in X s` lines and their
    timestamps), jobs and summed seconds per stage, training time, machine, commit, date, and
    each claim's verdict, measured numbers and note from its table (replication/claims.csv)."""
    starts, ends, jobs, seconds, per_job = [], [], {}, {}, {}
    for path in Path(log_dir).rglob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ .*deeplimits: (\w+) done in ([0-9.]+) s", line)
            if m:
                key = path.relative_to(log_dir).as_posix().removesuffix(".log")
                per_job[key] = round(per_job.get(key, 0.0) + float(m.group(3)), 2)
                end = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
                starts.append(end - dt.timedelta(seconds=float(m.group(3))))
                ends.append(end)
                jobs[m.group(2)] = jobs.get(m.group(2), 0) + 1
                seconds[m.group(2)] = round(seconds.get(m.group(2), 0.0) + float(m.group(3)), 1)
    if not ends:
        raise ValueError(f"no '<command> done in X s' line in the logs under {log_dir}: has the run finished?")
    prov = json.loads((Path(results_root) / "provenance.json").read_text())
    table = Path(results_root) / "replication" / "claims.csv"
    claims = []
    if table.exists():  # the run's verdicts, so the docs can say what each claim gave (and why)
        import pandas as pd

        claims = pd.read_csv(table, keep_default_na=False)[["claim", "verdict", "measured", "interval", "note"]]
        claims = claims.to_dict(orient="records")
    return {"scale": prov["config"]["scale"], "claims": claims, "started": min(starts).isoformat(timespec="seconds"),
            "span_s": round((max(ends) - min(starts)).total_seconds()), "jobs_per_stage": jobs,
            "seconds_per_stage": seconds, "jobs": sum(jobs.values()), "seconds_per_job": per_job,
            "training_cells": len(prov["training_cells"]), "training_wall_time_s": prov["training_wall_time_s"],
            "git_commit": prov["git_commit"], "device": prov["device"], "versions": prov["versions"],
            "machine": platform.platform(), "cpu_model": cpu_model(), "cores": os.cpu_count()}
