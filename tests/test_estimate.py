"""A run's cost before it starts (estimate.py): each recorded scale predicts the other's run
time within a factor 3, from the DAG's jobs and this machine's recorded throughput."""

import json

import pytest

from deeplimits.config import load_config
from deeplimits.costs import cell_flops, flops_per_step, steps_of
from deeplimits.estimate import analysis_model, analysis_work, dry_run_jobs, estimate, report, training_model


@pytest.mark.parametrize("scale", ["smoke", "quick"])
def test_the_estimate_holds_each_recorded_scale_within_a_factor_3(repo, scale):
    """In sample (the fits use both recorded runs): the machinery from DAG to total, not yet a
    prediction. Paper scale is an extrapolation of the same fits."""
    records = [json.loads((repo / "artifacts/runs" / f"{s}.json").read_text()) for s in ("smoke", "quick")]
    actual = records[("smoke", "quick").index(scale)]
    cfg = load_config(repo / "config.yaml", {"scale": scale})
    rows = estimate(cfg, dry_run_jobs([f"scale={scale}"], repo=repo),
                    [(r, load_config(repo / "config.yaml", {"scale": r["scale"]})) for r in records])
    predicted = sum(r["cpu_s"] for r in rows) / actual["cores"]
    assert 1 / 3 <= predicted / actual["span_s"] <= 3, (predicted, actual["span_s"])
    assert len(rows) == actual["jobs"] + sum(1 for r in rows if r["rule"] in NOT_LOGGED)


def test_the_training_fit_recovers_a_known_cost():
    """Cells timed as 2 ms per step plus 1 ns per FLOP: the fit gives both back."""
    cells = [{"builder": "gd", "steps": s, "flops": f, "seconds": 2e-3 * s + 1e-9 * f}
             for s, f in ((100, 1e9), (300, 5e8), (50, 4e9), (1000, 2e10))]
    per_step, per_flop = training_model([{"training": cells}])["gd"]
    assert per_step == pytest.approx(2e-3) and per_flop == pytest.approx(1e-9)
    assert analysis_model([(10.0, 3.0), (1000.0, 102.0)]) == pytest.approx((2.0, 0.1))
    assert analysis_model([(10.0, 5.0), (1000.0, 1.0)]) == (5.0, 0.0)  # never a negative slope


# Rules that write no `done in` line (their jobs are not counted in a run record's jobs).
NOT_LOGGED = ("all", "figures", "cpu_claims", "report_inputs")


def test_work_per_step_and_steps_on_known_cells():
    # A residual MLP of dim 4, depth 3, 2 seeds, batch 8: 6 x 2 x 8 x 3 x 16 FLOPs per step.
    gd = {"seeds": 2, "steps": 10, "dtype": "float64"}
    data = {"near_orthogonal": {"dim": 4, "n": 8}}
    assert flops_per_step("gd", gd, "near_orthogonal", 3, data) == 6 * 2 * 8 * 3 * 16
    assert steps_of("gd", gd, "near_orthogonal", data) == 10
    assert cell_flops("gd", gd, "near_orthogonal", 3, data) == 10 * 6 * 2 * 8 * 3 * 16
    # Plain nets on digits (1438 training points) with a validation share: fewer steps.
    plain = {"seeds": 1, "width": 4, "epochs": 2, "batch_size": 100, "validation": 0.5}
    assert steps_of("plain", plain, "digits", {}) == 2 * 8  # ceil(719 / 100)


def test_analysis_work_scales_with_its_sizes():
    s = {"networks": 2, "depth": 10, "n_inputs": 4, "width": 3, "branch_width": 5}
    assert analysis_work("hz5", dict(s, depth=20), {}) == 2 * analysis_work("hz5", s, {})
    assert analysis_work("claims_table", {}, {}) == 1.0


def test_the_report_names_its_assumption_and_totals():
    rows = [{"rule": "train", "claims": "CRX.4", "cpu_s": 7200.0, "gpu_s": 3600.0},
            {"rule": "crx4", "claims": "CRX.4", "cpu_s": 36.0, "gpu_s": float("nan")}]
    page = report(rows, 2, "paper", ["smoke", "quick"])
    assert "assumed" in page and "| CRX.4 | 2 | 2.0 h | 60 min |" in page
    assert "2.0 h of CPU time, about 60 min on 2 cores" in page
    assert "depth_stride" in page  # CRX.4 dominates: the keys that cut it


def _gpu_record(path, scale="paper", mode="graph", flops=None):
    rec = {"scale": scale, "device": "NVIDIA H200", "time": "2026-12-05T10:00:00Z", "torch": "2.11.0",
           "cells": [{"builder": "hz", "mode": mode}], "flops_per_s": flops or {"hz": 2e14, "crx4": 1e10}}
    path.write_text(json.dumps(rec))
    return path


def test_a_gpu_measurement_replaces_the_assumed_throughput(tmp_path):
    """Measured FLOP/s (bench/gpu_costs.py on a GPU) set the GPU time and the page says so;
    a builder not measured keeps its assumed value; a CPU rehearsal's record never counts."""
    from deeplimits.estimate import ASSUMED, ASSUMED_GPU_FLOPS, gpu_throughput

    assert gpu_throughput(tmp_path / "none.json") is ASSUMED
    assert gpu_throughput(_gpu_record(tmp_path / "dry.json", scale="smoke", mode="eager")) is ASSUMED
    gpu = gpu_throughput(_gpu_record(tmp_path / "gpu.json"))
    assert gpu.measured and gpu.flops_per_s["hz"] == 2e14 and gpu.flops_per_s["crx4"] == 1e10
    assert gpu.flops_per_s["gd"] == ASSUMED_GPU_FLOPS["gd"] and "assumed for gd, plain" in gpu.source
    assert "NVIDIA H200" in gpu.source and "2026-12-05" in gpu.source
    rows = [{"rule": "train", "claims": "HZ.2", "cpu_s": 7200.0, "gpu_s": 3600.0}]
    page = report(rows, 2, "paper", ["smoke", "quick"], gpu)
    assert "GPU time (training, measured)" in page and "measured by bench/gpu_check.sh on NVIDIA H200" in page
    assert "assumed (bench" not in page


def test_the_estimate_page_is_up_to_date(repo):
    """docs/estimate.md is the paper estimate from the committed records and config."""
    from deeplimits.estimate import GPU_COSTS, gpu_throughput, load_records

    records, gpu = load_records(repo / "artifacts/runs"), gpu_throughput(repo / GPU_COSTS)
    cfg = load_config(repo / "config.yaml", {"scale": "paper"})
    rows = estimate(cfg, dry_run_jobs(["scale=paper"], repo=repo),
                    [(r, load_config(repo / "config.yaml", {"scale": r["scale"]})) for r in records], gpu)
    page = report(rows, max(r["cores"] for r in records), "paper", [r["scale"] for r in records], gpu)
    assert (repo / "docs/estimate.md").read_text() == page, "docs/estimate.md is stale: run make estimate"
