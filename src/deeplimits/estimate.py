"""What a run will cost before it starts: jobs per rule and, per claim, CPU and GPU hours.

The jobs are the DAG's (a Snakemake dry run). Each job's cost comes from a recorded run on
this machine (artifacts/runs/<scale>.json, `make record-run`), scaled to the run asked for:
- a training cell: its floating-point work (costs.cell_flops: steps x work per step) over the
  throughput its builder reached in the recorded run (work / training time, per builder),
  plus the recorded per-job start-up;
- an analysis: its seconds in the recorded run times the ratio of its work (analysis_work:
  the sizes it loops over) at the two scales;
- any other job (data, tables, notebooks): its recorded seconds.
On one GPU a training cell runs at ASSUMED_GPU_FLOPS[builder] until bench/gpu_check.sh has
measured it (the figure says "assumed"); analyses and the rest stay on the CPU.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

from .config import REPO_ROOT
from .costs import cell_flops, flops_per_step
from .experiments import experiment_of
from .plan import experiment_settings, job_settings
from .registry import ANALYSES, CLAIMS

RUNS = "artifacts/runs"
# Sustained float32 throughput of one GPU per builder (FLOP/s) until gpu_check.sh measures it:
# conv nets near a tenth of an H100's dense peak; narrow MLPs (width 10-128) far below, their
# steps being launch-bound (one small kernel per layer; CUDA graphs help, not measured here).
ASSUMED_GPU_FLOPS = {"hz": 5e13, "plain": 5e12, "crx4": 2e11, "gd": 2e11}
ASSUMPTION = ("GPU throughput assumed (bench/gpu_check.sh has not run on a GPU): "
              + ", ".join(f"{b} {v:.0e} FLOP/s" for b, v in ASSUMED_GPU_FLOPS.items()))


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


def _analysis_name(rule: str) -> str:
    return rule.removesuffix("_sensitivity_run")


def _job_key(log: str) -> str:
    """A job's log path below logs/<scale>/, without .log: the key of its recorded seconds."""
    return re.sub(r"^logs/\w+/", "", log).removesuffix(".log")


def training_throughput(record: dict) -> dict[str, float]:
    """FLOP/s per builder over the recorded run's training cells."""
    return {b: v["flops"] / max(v["seconds"], 1e-9) for b, v in record["training"].items()}


def estimate(cfg: dict, jobs: list[dict], record: dict, record_cfg: dict) -> list[dict]:
    """Per job: rule, claim(s), CPU seconds and GPU seconds (training cells only)."""
    throughput = training_throughput(record)
    startup = job_startup(record)
    rows = []
    for job in jobs:
        rule, wc = job["rule"], job["wildcards"]
        row = {"rule": rule, "claims": claims_of_rule(rule, wc), "gpu_s": math.nan}
        if rule == "train":
            exp = experiment_of(wc["experiment"])
            settings = job_settings(wc["experiment"], experiment_settings(cfg, wc["experiment"]), wc["variant"])
            flops = cell_flops(exp.builder, settings, wc["dataset"], int(wc["depth"]), cfg["data"])
            row["cpu_s"] = startup + flops / throughput.get(exp.builder, math.nan)
            row["gpu_s"] = startup + flops / ASSUMED_GPU_FLOPS[exp.builder]
        elif _analysis_name(rule) in ANALYSES:
            name = _analysis_name(rule)
            experiment = ANALYSES[name].experiment
            ratio = (analysis_work(name, experiment_settings(cfg, experiment), cfg["data"])
                     / analysis_work(name, experiment_settings(record_cfg, experiment), record_cfg["data"]))
            row["cpu_s"] = record["seconds_per_job"].get(_job_key(job["log"]), startup) * ratio
        else:
            row["cpu_s"] = record["seconds_per_job"].get(_job_key(job["log"]), startup)
        rows.append(row)
    return rows


def claims_of_rule(rule: str, wildcards: dict) -> str:
    """The claims a job serves: a training cell its experiment's, an analysis its claims'."""
    if rule == "train":
        analyses = [a for a in ANALYSES.values() if a.experiment == wildcards["experiment"]]
    else:
        analyses = [ANALYSES[_analysis_name(rule)]] if _analysis_name(rule) in ANALYSES else []
    names = {a.name for a in analyses}
    return ", ".join(c.id for c in CLAIMS.values() if c.analysis in names) or "(shared)"


def duration(seconds: float) -> str:
    """Seconds as a reader wants them: seconds, minutes or hours."""
    if not math.isfinite(seconds):
        return "unknown"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def report(rows: list[dict], cores: int, scale: str, calibrated_on: str) -> str:
    """The estimate as a markdown page: jobs per rule, hours per claim, the total."""
    import pandas as pd

    t = pd.DataFrame(rows)
    lines = [f"# Cost estimate: {scale} scale", "",
             f"Generated by `python -m deeplimits estimate` from the DAG's dry run and the `{calibrated_on}` run "
             f"recorded in `{RUNS}/` on this machine; do not edit. {ASSUMPTION}.", "",
             "| rule | jobs | CPU time |", "|---|---|---|"]
    for rule, grp in t.groupby("rule"):
        lines.append(f"| {rule} | {len(grp)} | {duration(grp.cpu_s.sum())} |")
    lines += ["", "| claim(s) | jobs | CPU time | GPU time (training, assumed) |", "|---|---|---|---|"]
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
    """What a recorded run's training cells reached on this machine: per builder, their work
    (steps taken x work per step) and training seconds."""
    results_root = Path(results_root)
    data_cfg = json.loads((results_root / "provenance.json").read_text())["config"]["data"]
    per_builder = {}
    for path in sorted((results_root / "train").rglob("provenance.json")):
        rec = json.loads(path.read_text())
        experiment, dataset, _variant, depth = rec["config"]["cell"].split("/")
        builder = experiment_of(experiment).builder
        flops = rec["steps"] * flops_per_step(builder, rec["config"]["settings"], dataset, int(depth[1:]), data_cfg)
        entry = per_builder.setdefault(builder, {"flops": 0.0, "seconds": 0.0})
        entry["flops"] += flops
        entry["seconds"] += rec["wall_time_s"] or 0.0
    return {"training": per_builder}


def job_startup(record: dict) -> float:
    """What a job costs beyond its own `done in` seconds (a Python start, imports, Snakemake's
    scheduling), from a recorded run: its cores' time over the span less the jobs' own
    seconds, per job."""
    return max(0.0, (record["span_s"] * record["cores"] - sum(record["seconds_per_job"].values())) / record["jobs"])


def load_record(scale: str, runs_dir: Path = REPO_ROOT / RUNS) -> dict:
    path = Path(runs_dir) / f"{scale}.json"
    if not path.exists():
        raise FileNotFoundError(f"no recorded {scale} run in {runs_dir}: run it, then `make record-run SCALE={scale}`")
    return json.loads(path.read_text())
