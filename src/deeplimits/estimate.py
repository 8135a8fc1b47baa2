"""What a run will cost before it starts: jobs per rule and, per claim, CPU and GPU time.

The jobs are the DAG's (a Snakemake dry run). Each job's cost comes from the runs recorded
on this machine (artifacts/runs/<scale>.json, `make record-run`; smoke and quick), fitted and
carried to the run asked for:
- a training cell: steps x (seconds per step) + FLOPs x (seconds per FLOP), both per builder
  by non-negative least squares over every recorded cell (costs.flops_per_step, steps_of);
- an analysis: the line through its recorded (work, seconds) points, work being the sizes it
  loops over (analysis_work) at each scale;
- any other job (data, tables, notebooks): its recorded seconds;
- every job: the recorded runs' start-up per job (their cores' time over the span, less the
  jobs' own seconds).
Within the recorded scales this interpolates (tests/test_estimate.py holds each within a
factor 3); paper scale is an extrapolation, and says so. On one GPU a training cell runs at
the FLOP/s per builder that bench/gpu_check.sh measured (its gpu_costs.json, copied to
artifacts/gpu/), and at ASSUMED_GPU_FLOPS[builder] until then (named "assumed").
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import REPO_ROOT
from .costs import flops_per_step, steps_of
from .experiments import experiment_of
from .plan import experiment_settings, job_settings
from .registry import ANALYSES, CLAIMS

RUNS = "artifacts/runs"
# Sustained float32 throughput of one GPU per builder (FLOP/s) until gpu_check.sh measures it:
# conv nets near a tenth of an H100's dense peak; narrow MLPs (width 10-128) far below, their
# steps being launch-bound (one small kernel per layer; CUDA graphs help, not measured here).
ASSUMED_GPU_FLOPS = {"hz": 5e13, "plain": 5e12, "crx4": 2e11, "gd": 2e11}
GPU_COSTS = "artifacts/gpu/gpu_costs.json"


@dataclass(frozen=True)
class GpuThroughput:
    """FLOP/s of one GPU per builder, and where the numbers come from (a sentence)."""

    flops_per_s: dict
    source: str
    measured: bool


ASSUMED = GpuThroughput(ASSUMED_GPU_FLOPS, "GPU throughput assumed (bench/gpu_check.sh has not run on a GPU): "
                        + ", ".join(f"{b} {v:.0e} FLOP/s" for b, v in ASSUMED_GPU_FLOPS.items()), False)


def gpu_throughput(path: Path = REPO_ROOT / GPU_COSTS) -> GpuThroughput:
    """The throughput bench/gpu_costs.py measured on a GPU at paper scale, where its record is;
    ASSUMED otherwise (a CPU rehearsal's record never counts). A builder it did not measure
    keeps its assumed value, and the sentence says which."""
    if not Path(path).exists():
        return ASSUMED
    rec = json.loads(Path(path).read_text())
    if rec.get("scale") != "paper" or not any(c.get("mode") == "graph" for c in rec.get("cells", [])):
        return ASSUMED
    measured = {b: v for b, v in rec["flops_per_s"].items() if b in ASSUMED_GPU_FLOPS and math.isfinite(v)}
    missing = sorted(set(ASSUMED_GPU_FLOPS) - set(measured))
    source = (f"GPU throughput measured by bench/gpu_check.sh on {rec['device']} ({rec['time'][:10]}, torch "
              f"{rec['torch']}; {GPU_COSTS}): " + ", ".join(f"{b} {v:.2g} FLOP/s" for b, v in sorted(measured.items()))
              + (f"; assumed for {', '.join(missing)}" if missing else ""))
    return GpuThroughput({**ASSUMED_GPU_FLOPS, **measured}, source, True)


def dry_run_jobs(config: list[str], target: str = "", repo: Path = REPO_ROOT) -> list[dict]:
    """Every job of the DAG (rule and wildcards) from a Snakemake dry run."""
    # --forceall: every job of the DAG, whether or not its outputs exist already.
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-n", "--forceall", "--cores", "1", "--config", *config]
    out = subprocess.run(cmd + ([target] if target else []), cwd=repo, capture_output=True, text=True, check=True).stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m:
            continue
        wc = re.search(r"wildcards: (.*)", block)
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        log = re.search(r"log: (\S+)", block)
        jobs.append({"rule": m.group(1), "wildcards": wildcards, "log": log.group(1) if log else ""})
    return jobs


def analysis_work(name: str, s: dict, data: dict) -> float:
    """The sizes an analysis loops over (a relative measure of its work), from its settings."""
    if name == "hz1_increments":
        img = data["random_images"]
        return s["networks"] * s["depth"] * img["n"] * img["channels"] ** 2 * img["size"] ** 2
    if name == "hz5":
        return s["networks"] * s["depth"] * s["n_inputs"] * s["width"] * s["branch_width"]
    if name in ("xz2", "xz5"):
        arms = len(s.get("alphas", [0, 0]))
        return arms * s["sequences"] * s["depth"] * s["n_inputs"] * s["width"] ** 2
    if name == "xz1":
        return s["n_segments"] * s["depth"] ** 2 * s["width"] ** 2  # pieces grow with depth too
    if name == "hz3":
        return s["depth"] * s["n_inputs"] * s["width"] * s["branch_width"]
    if name in ("tvg_solve", "tvg_continuum", "tvg3"):
        points = s["n_points"] or data["two_moons"]["n"]
        if name == "tvg_solve":
            return 2 * (s["cold_starts"] + 2) * sum(s["depths"]) * s["max_iter"] * points * s["dim"] ** 2
        if name == "tvg_continuum":
            nodes = s["continuum_nodes"]
            return (s["continuum_cold_starts"] + 1) * sum(nodes) * s["continuum_max_iter"] * points * s["dim"] ** 2
        return sum(s["euler_depths"]) * points * s["dim"] ** 2
    if name == "crx5":
        cells = len(s["widths"]) * (len(s["n_ratios"]) * len(s["rhos"]) + 1)
        return cells * s["seeds"] * s["steps"] * s["depth"] * max(s["widths"]) ** 3
    return 1.0


def recorded_analysis(record: dict, paper: str, name: str, key: str) -> float | None:
    """An analysis's recorded seconds (the mean over its jobs: one per dataset or alpha), its
    sensitivity runs' for a sensitivity run; None when the record has none."""
    pattern = re.compile(rf"^{paper}/{name}(_[^/]*)?$")
    sensitivity = "=" in key
    seen = [v for k, v in record["seconds_per_job"].items() if pattern.match(k) and ("=" in k) == sensitivity]
    return sum(seen) / len(seen) if seen else None


def _analysis_name(rule: str) -> str:
    return rule.removesuffix("_sensitivity_run")


def _job_key(log: str) -> str:
    """A job's log path below logs/<scale>/, without .log: the key of its recorded seconds."""
    return re.sub(r"^logs/\w+/", "", log).removesuffix(".log")


def training_model(records: list[dict]) -> dict[str, tuple[float, float]]:
    """Per builder, (seconds per step, seconds per FLOP) fitted by non-negative least squares
    to every recorded training cell: a step's fixed cost (launches, Python) and its arithmetic."""
    import numpy as np
    from scipy.optimize import nnls

    cells = [c for r in records for c in r["training"]]
    model = {}
    for builder in sorted({c["builder"] for c in cells}):
        own = [c for c in cells if c["builder"] == builder]
        a = np.array([[c["steps"], c["flops"]] for c in own], dtype=float)
        scale = a.max(axis=0)
        coef, _ = nnls(a / scale, np.array([c["seconds"] for c in own], dtype=float))
        model[builder] = tuple(float(v) for v in coef / scale)
    return model


def analysis_model(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(fixed seconds, seconds per unit of work) of one analysis job through its recorded
    (work, seconds) points: the line through the smallest and largest work (never a negative
    slope), a constant through one point."""
    points = sorted(points)
    (w0, t0), (w1, t1) = points[0], points[-1]
    if w1 == w0:
        return t1, 0.0
    slope = max((t1 - t0) / (w1 - w0), 0.0)
    return max(t0 - slope * w0, 0.0), slope


def estimate(cfg: dict, jobs: list[dict], records: list[tuple[dict, dict]], gpu: GpuThroughput = ASSUMED) -> list[dict]:
    """Per job: rule, claim(s), CPU seconds and GPU seconds (training cells only, at `gpu`'s
    throughput), from the recorded runs (each with its scale's config)."""
    training = training_model([r for r, _ in records])
    startup = sum(job_startup(r) for r, _ in records) / len(records)
    rows = []
    for job in jobs:
        rule, wc = job["rule"], job["wildcards"]
        row = {"rule": rule, "claims": claims_of_rule(rule, wc), "gpu_s": math.nan}
        key = _job_key(job["log"])
        if rule == "train":
            builder = experiment_of(wc["experiment"]).builder
            settings = job_settings(wc["experiment"], experiment_settings(cfg, wc["experiment"]), wc["variant"])
            steps = steps_of(builder, settings, wc["dataset"], cfg["data"])
            flops = steps * flops_per_step(builder, settings, wc["dataset"], int(wc["depth"]), cfg["data"])
            per_step, per_flop = training.get(builder, (math.nan, math.nan))
            row["cpu_s"] = startup + steps * per_step + flops * per_flop
            row["gpu_s"] = startup + flops / gpu.flops_per_s[builder]
        elif _analysis_name(rule) in ANALYSES:
            name = _analysis_name(rule)
            experiment = ANALYSES[name].experiment
            points = [(analysis_work(name, experiment_settings(c, experiment), c["data"]), seconds)
                      for r, c in records if (seconds := recorded_analysis(r, ANALYSES[name].paper, name, key))]
            fixed, per_work = analysis_model(points) if points else (0.0, 0.0)
            row["cpu_s"] = startup + fixed + per_work * analysis_work(name, experiment_settings(cfg, experiment),
                                                                      cfg["data"])
        else:
            seen = [r["seconds_per_job"][key] for r, _ in records if key in r["seconds_per_job"]]
            row["cpu_s"] = startup + (sum(seen) / len(seen) if seen else 0.0)
        rows.append(row)
    return rows


def claims_of_rule(rule: str, wildcards: dict) -> str:
    """The claims a job serves: a training cell its experiment's; an analysis the claims it
    writes, or feeds (an input of theirs, or a CPU part of theirs)."""
    from .registry import Output

    if rule == "train":
        names = {a.name for a in ANALYSES.values() if a.experiment == wildcards["experiment"]}
    else:
        names = {_analysis_name(rule)} if _analysis_name(rule) in ANALYSES else set()

    def serves(c) -> bool:
        feeds = {spec.analysis for spec in ANALYSES[c.analysis].inputs.values() if isinstance(spec, Output)}
        return bool(names & ({c.analysis} | feeds | set(c.cpu_parts)))

    return ", ".join(c.id for c in CLAIMS.values() if serves(c)) or "(shared)"


def duration(seconds: float) -> str:
    """Seconds as a reader wants them: seconds, minutes or hours."""
    if not math.isfinite(seconds):
        return "unknown"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def report(rows: list[dict], cores: int, scale: str, calibrated_on: list[str], gpu: GpuThroughput = ASSUMED) -> str:
    """The estimate as a markdown page: jobs per rule, hours per claim, the total."""
    import pandas as pd

    t = pd.DataFrame(rows)
    lines = [f"# Cost estimate: {scale} scale", "",
             f"Generated by `python -m deeplimits estimate` from the DAG's dry run and the {' and '.join(calibrated_on)} "
             f"runs recorded in `{RUNS}/` on this machine (scaled from them: an extrapolation beyond their sizes); do "
             f"not edit. {gpu.source}. Training cells count their whole epoch budget: a stopping rule may end "
             "them sooner (CRX.4's usually does), so their figures are upper bounds.", "",
             "| rule | jobs | CPU time |", "|---|---|---|"]
    for rule, grp in t.groupby("rule"):
        lines.append(f"| {rule} | {len(grp)} | {duration(grp.cpu_s.sum())} |")
    lines += ["", f"| claim(s) | jobs | CPU time | GPU time (training, {'measured' if gpu.measured else 'assumed'}) |",
              "|---|---|---|---|"]
    for claims, grp in t.groupby("claims"):
        lines.append(f"| {claims} | {len(grp)} | {duration(grp.cpu_s.sum())} | {duration(grp.gpu_s.sum())} |")
    cpu, gpu = t.cpu_s.sum(), t.gpu_s.sum()
    rest = t[t.rule != "train"].cpu_s.sum()
    lines += ["", f"Total: {len(t)} jobs; {duration(cpu)} of CPU time, about {duration(cpu / cores)} on {cores} "
              f"cores; with one GPU for training, {duration(gpu)} of GPU time plus {duration(rest)} of CPU time for "
              "the rest."]
    top = t.groupby("claims").gpu_s.sum().sort_values(ascending=False)
    if len(top) and top.iloc[0] > 0.5 * gpu:
        lines += ["", f"{top.index[0]} takes most of the GPU time: " + CUTS.get(top.index[0].split(",")[0],
                                                                              "see its experiment's depth grid and seeds")]
    return "\n".join(lines) + "\n"


# Where one claim dominates, the config keys that cut it and what each changes.
CUTS = {"CRX.4": "`experiments.crx4.depth_stride` (every k-th depth of the grid: fewer points for beta's fit), "
                 "`experiments.crx4.max_depth` (a shorter grid: beta from smaller L), "
                 "`experiments.crx4.datasets` (leave out mnist_features: only the ODE data), "
                 "`experiments.crx4.sensitivity` (fewer protocol reruns)."}


def training_record(results_root) -> dict:
    """What a recorded run's training cells took on this machine: per cell its builder, steps
    taken, work (steps x work per step) and training seconds."""
    results_root = Path(results_root)
    data_cfg = json.loads((results_root / "provenance.json").read_text())["config"]["data"]
    cells = []
    for path in sorted((results_root / "train").rglob("provenance.json")):
        rec = json.loads(path.read_text())
        if rec["wall_time_s"] is None:
            continue
        experiment, dataset, _variant, depth = rec["config"]["cell"].split("/")
        builder = experiment_of(experiment).builder
        flops = rec["steps"] * flops_per_step(builder, rec["config"]["settings"], dataset, int(depth[1:]), data_cfg)
        cells.append({"builder": builder, "steps": rec["steps"], "flops": flops, "seconds": rec["wall_time_s"]})
    return {"training": cells}


def job_startup(record: dict) -> float:
    """What a job costs beyond its own `done in` seconds (a Python start, imports, Snakemake's
    scheduling), from a recorded run: its cores' time over the span less the jobs' own
    seconds, per job."""
    return max(0.0, (record["span_s"] * record["cores"] - sum(record["seconds_per_job"].values())) / record["jobs"])


def load_records(runs_dir: Path = REPO_ROOT / RUNS) -> list[dict]:
    """Every recorded run with the per-job seconds and training cells the estimate needs."""
    records = [json.loads(p.read_text()) for p in sorted(Path(runs_dir).glob("*.json"))]
    records = [r for r in records if "seconds_per_job" in r and "training" in r]
    if not records:
        raise FileNotFoundError(f"no recorded run in {runs_dir} to scale from: run a scale, then "
                                "`make record-run SCALE=<scale>`")
    return records
