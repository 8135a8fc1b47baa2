"""bench/gpu_check.sh: its CPU rehearsal passes, and without a GPU the real check refuses in one line."""

import json
import os
import subprocess
import sys

import pytest
import torch

from deeplimits.cells import BUILDERS

pytestmark = pytest.mark.workflow


def _run(repo, *args, out):
    env = dict(os.environ, PYTHON=sys.executable, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    return subprocess.run([str(repo / "bench" / "gpu_check.sh"), *args, "--out", str(out)], capture_output=True,
                          text=True, env=env, timeout=900)


def test_dry_rehearsal_runs_every_step_and_writes_one_summary(repo, tmp_path):
    proc = _run(repo, "--dry", out=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mode"] == "dry" and summary["ok"]
    assert list(summary["steps"]) == ["env", "tests", "throughput", "costs"]
    assert all(s["exit"] == 0 and s["seconds"] <= s["limit_s"] for s in summary["steps"].values())
    assert "config: paper scale resolves" in summary["steps"]["env"]["last_lines"][-1]
    assert "min_ratio=" in summary["steps"]["throughput"]["last_lines"][-1]
    # One measured cell per builder, the largest of the scale, with a positive step time.
    costs = summary["costs"]
    assert costs["scale"] == "smoke" and {c["builder"] for c in costs["cells"]} == set(BUILDERS)
    assert all(c["mode"] == "eager" and c["eager_s_per_step"] > 1e-6 for c in costs["cells"])
    assert costs["flops_per_s"] == {c["builder"]: c["eager_flops_per_s"] for c in costs["cells"]}
    assert not (repo / "results" / "gpu_check").exists()  # everything under --out


def test_the_steps_on_a_gpu_fit_300_s_so_a_rerun_fits_the_device_time(repo):
    """The device tool lends 15 minutes in all, the machine's start included: the GPU steps'
    limits add up to at most 300 s, and they are the steps the rehearsal runs."""
    proc = subprocess.run([str(repo / "bench" / "gpu_check.sh"), "--plan"], capture_output=True, text=True, check=True)
    plan = dict(line.split() for line in proc.stdout.strip().splitlines())
    assert list(plan) == ["env", "tests", "throughput", "costs"]
    assert sum(int(v) for v in plan.values()) <= 300, plan


def test_the_check_needs_no_snakemake_and_carries_what_the_image_lacks(repo):
    """The GPU image has no snakemake or papermill: the check calls none; the wheels it installs
    are the lock's versions of what the package imports and the image lacks."""
    code = [line for line in (repo / "bench" / "gpu_check.sh").read_text().splitlines()
            if not line.lstrip().startswith("#")]
    assert not [line for line in code if "snakemake" in line or "papermill" in line]
    wheels = (repo / "bench" / "gpu_wheels.sh").read_text()
    assert "packages=(jsonschema " in wheels and "requirements.lock" in wheels


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_without_a_gpu_the_real_check_says_so_in_one_line(repo, tmp_path):
    proc = _run(repo, out=tmp_path)
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0]
    assert not (tmp_path / "summary.json").exists()
