"""GPU memory is a scheduled resource: each training cell declares an estimate from its
model's sizes (costs.py), checked here against a measured CPU peak of the same model, and the
paper DAG's training jobs carry it, within what the default profile grants."""

import json
import re
import subprocess
import sys

import pytest
import yaml

from deeplimits.config import load_config
from deeplimits.costs import DATASETS, cell_cost
from deeplimits.plan import Plan, cells

# One training step of a cell's model on the CPU, in a process of its own: its peak resident
# memory above what it held before the step (MiB), from Linux's high-water mark reset at the
# step's start.
MEASURE = """
import json, sys, torch
from deeplimits.cells import build
from deeplimits.engine import TrainSettings, train
from deeplimits.plan import Cell
experiment, variant, depth, settings, shape, classes, n = json.loads(sys.argv[1])
torch.set_num_threads(1)
x, y = torch.randn(n, *shape), torch.randint(0, classes, (n,))
data = {"meta": {"x_shape": shape, "classes": list(range(classes)), "name": "t"},
        "x_train": x, "y_train": y, "x_test": x[:2], "y_test": y[:2]}
model, ts, seeds = build(Cell(experiment, "t", variant, depth), settings, data, 0)
ts.progress, ts.epochs, ts.eval_every = False, 1, 0
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))
# Reset the high-water mark (imports and set-up leave their own peaks behind), then train.
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
train(model, data, ts, seeds=seeds, root_seed=0, label="t")
print((status("VmHWM") - before) / 1024)
"""

CASES = {
    # A dense scaled ResNet (HZ.4's builder) and a plain ReLU net (XZ.4's), each sized so that
    # its estimate (some hundred MiB) stands well above the allocator's noise.
    "hz": ("hz4", "a1", 64, {"seeds": 2, "width": 128, "branch_layers": 2, "block": "dense", "epochs": 1,
                              "batch_size": 512, "lr": 1e-3, "milestones": [], "augment": False,
                              "checkpoint_every": 1}, "digits"),
    "plain": ("xz34", "he_lr0.001", 48, {"seeds": 4, "width": 256, "alpha": 1.0, "epochs": 1, "batch_size": 1438,
                                         "validation": 0.0, "checkpoint_every": 1}, "digits"),
}


@pytest.mark.parametrize("builder", CASES)
def test_a_cells_estimate_matches_its_measured_cpu_peak(builder):
    experiment, variant, depth, settings, dataset = CASES[builder]
    shape, classes, n, _ = DATASETS[dataset]
    estimate = cell_cost(builder, settings, dataset, depth, {}).memory_mb()
    out = subprocess.run([sys.executable, "-c", MEASURE, json.dumps([experiment, variant, depth, settings, list(shape),
                                                                      classes, n])],
                         capture_output=True, text=True, check=True)
    measured = float(out.stdout.strip().splitlines()[-1])
    assert estimate > 100 and 0.5 <= measured / estimate <= 2.0, (estimate, measured)


def test_the_prepared_shapes_are_the_ones_costs_assumes(tmp_path):
    from deeplimits.data.prepare import prepare_dataset

    meta = prepare_dataset("digits", {}, 0, tmp_path / "digits.pt")
    shape, classes, n_train, n_test = DATASETS["digits"]
    assert (tuple(meta["x_shape"]), len(meta["classes"]), meta["n_train"], meta["n_test"]) == \
        (shape, classes, n_train, n_test)


def test_every_paper_cell_fits_what_the_default_profile_grants(repo):
    granted = yaml.safe_load((repo / "profiles/default/config.yaml").read_text())["resources"]["gpu_mem_mb"]
    cfg = load_config(repo / "config.yaml", {"scale": "paper"})
    plan = Plan(cfg)
    need = {c.path: plan.gpu_memory_mb(c.experiment, c.dataset, c.variant, c.depth) for c in cells(cfg)}
    assert min(need.values()) > 0
    assert {p: m for p, m in need.items() if m > granted} == {}
    # Below paper scale, or on a CPU device, nothing is declared.
    quick = Plan(load_config(repo / "config.yaml", {"scale": "quick"}))
    assert quick.gpu_memory_mb("hz4", "digits", "a1", 128) == 0
    cpu = Plan(load_config(repo / "config.yaml", {"scale": "paper", "device": "cpu"}))
    assert cpu.gpu_memory_mb("hz4", "cifar10", "a1", 512) == 0


def test_the_paper_dry_run_declares_each_training_jobs_memory(repo):
    """Snakemake's dry run of one paper cell shows the cell's estimate as its gpu_mem_mb."""
    cfg = load_config(repo / "config.yaml", {"scale": "paper"})
    target = "results/paper/train/hz2/cifar10/a0.2/L75/weights.pt"
    out = subprocess.run([f"{sys.prefix}/bin/snakemake", "-n", "--config", "scale=paper", "--cores", "1", target],
                         cwd=repo, capture_output=True, text=True, check=True).stdout
    declared = int(re.search(r"rule train:.*?gpu_mem_mb=(\d+)", out, re.S).group(1))
    assert declared == Plan(cfg).gpu_memory_mb("hz2", "cifar10", "a0.2", 75) > 0
