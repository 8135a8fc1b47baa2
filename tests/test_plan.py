"""What one job computes from: a training cell reads its own settings, never the grid's."""

import copy

import pytest
import torch

from deeplimits.cells import build
from deeplimits.config import load_config
from deeplimits.experiments import EXPERIMENTS
from deeplimits.plan import cells, experiment_settings, job_keys, job_settings


class ReadKeys(dict):
    """Settings that remember which keys were read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


FAKE_DATA = {"meta": {"x_shape": [1, 8, 8], "classes": list(range(10))}, "x_train": torch.zeros(4, 10)}


@pytest.mark.parametrize("scale", ["smoke", "quick", "paper"])
def test_a_cell_is_built_only_from_its_job_settings(repo, scale):
    # A key the model or the training reads but job_settings drops would be silently
    # replaced by a default when the Snakefile passes the job's settings alone.
    cfg = load_config(repo / "config.yaml", {"scale": scale})
    seen = set()
    for cell in cells(cfg):
        kind = (cell.experiment, cell.variant)
        if kind in seen:
            continue
        seen.add(kind)
        full = experiment_settings(cfg, cell.experiment)
        read = ReadKeys(full)
        build(cell, read, FAKE_DATA, 0)
        assert read.read <= set(job_keys(cell.experiment)), (cell.path, read.read - set(job_keys(cell.experiment)))
    assert {e for e, _ in seen} == set(EXPERIMENTS) - {"hz1"}


def test_the_grid_and_the_judging_keys_are_not_a_jobs_settings(repo):
    cfg = load_config(repo / "config.yaml", {"scale": "quick"})
    grown = copy.deepcopy(cfg)
    grown["experiments"]["xz34"].update(depths=[4, 16, 64, 256, 1024], inits=["he"], learning_margin=0.3)
    grown["experiments"]["hz1"].update(alphas=[0.3], tolerance=0.5, fit_from=3)
    grown["scale"] = "paper"
    for exp in ("xz34", "hz1"):
        assert job_settings(exp, experiment_settings(cfg, exp)) == job_settings(exp, experiment_settings(grown, exp))
    # Seeds are stacked in one model: another seed count is another computation.
    grown["experiments"]["xz34"]["seeds"] = 5
    assert job_settings("xz34", experiment_settings(grown, "xz34"))["seeds"] == 5
