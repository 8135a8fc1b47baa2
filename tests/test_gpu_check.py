"""bench/gpu_check.sh: its CPU rehearsal passes, and without a GPU the real check refuses in one line."""

import json
import os
import subprocess
import sys

import pytest
import torch

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
    assert list(summary["steps"]) == ["tests", "bench", "hz1", "crx4"]
    assert all(s["exit"] == 0 and s["seconds"] <= s["limit_s"] for s in summary["steps"].values())
    assert "min_ratio=" in summary["steps"]["bench"]["last_lines"][-1]
    assert set(summary["claims"]) == {"HZ.1", "CRX.4"} and summary["claims"]["CRX.4"]["interval"]
    assert not (repo / "results" / "gpu_check").exists()  # everything under --out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_without_a_gpu_the_real_check_says_so_in_one_line(repo, tmp_path):
    proc = _run(repo, out=tmp_path)
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0]
    assert not (tmp_path / "summary.json").exists()
