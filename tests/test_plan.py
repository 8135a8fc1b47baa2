"""What one job computes from: a training cell reads its own settings, never the grid's."""

import copy

import pytest
import torch

from deeplimits.cells import build
from deeplimits.config import load_config
from deeplimits.experiments import EXPERIMENTS
from deeplimits.plan import Plan, cells, experiment_settings, job_keys, job_settings
from deeplimits.registry import CLAIMS


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


# ------------------------------------------------------------------ Plan: every rule's files, without Snakemake
def _plan(repo, scale, **overrides):
    return Plan(load_config(repo / "config.yaml", {"scale": scale, **overrides}), reference_dir="ref")


def test_an_analysis_reads_what_the_registry_declares(repo):
    plan = _plan(repo, "quick")
    hz1 = plan.cfg["experiments"]["hz1"]
    root = "results/quick"
    # One curve per alpha, or the authors' alpha alone; the authors' file from reference_dir.
    assert plan.inputs("hz1") == {
        "increments": [f"{root}/huang_zhang/hz1/a{a:g}/increments.csv" for a in hz1["alphas"]],
        "reference": "ref/huang_zhang_random_resnet_increments.csv"}
    assert plan.inputs("hz1_reference_alpha")["increments"] == [
        f"{root}/huang_zhang/hz1/a{hz1['reference_alpha']:g}/increments.csv"]
    # Another experiment's cells and dataset (HZ.3 reads HZ.2's trained net).
    hz3 = plan.inputs("hz3")
    assert hz3["data"] == f"{root}/data/{plan.cfg['experiments']['hz2']['dataset']}.pt"
    assert hz3["cells"] == [f"{d}/weights.pt" for d in plan.cell_paths("hz2")] and len(hz3["cells"]) == 1
    # A per-dataset job: its dataset's cells; a data set needed for one dataset alone.
    crx4 = plan.inputs("crx4", "ode")
    assert crx4["features"] == [] and all("/crx4/ode/" in c for c in crx4["cells"]) and crx4["cells"]
    assert plan.inputs("crx4", "mnist_features")["features"] == [f"{root}/data/mnist_features.pt"]
    assert plan.inputs("xz1") == {}


def test_a_sensitivity_run_reads_its_own_cells_and_its_own_upstream_outputs(repo):
    plan = _plan(repo, "quick")
    (xz2_run,) = [n for n in plan.sensitivity_names("xz2") if "=" in n][:1]
    tvg_run = plan.sensitivity_names("tvg")[0]
    claims = plan.inputs("tvg_claims", "two_moons", run=tvg_run)
    assert claims["solutions"] == f"results/quick/thorpe_van_gennip/two_moons/tvg/sensitivity/{tvg_run}/solutions.pt"
    assert set(claims) == {"objectives", "solutions", "continuum", "continuum_model", "data"}
    hz4_run = plan.sensitivity_names("hz4")[0]
    cells_run = plan.inputs("hz4", run=hz4_run)["cells"]
    assert cells_run and all(f"~{hz4_run}/" in c for c in cells_run)
    # Trained experiments vary their cells; the others their analysis's settings.
    assert plan.settings("hz4", {}, hz4_run) == experiment_settings(plan.cfg, "hz4")
    choice, value = xz2_run.split("=")
    assert str(plan.settings("xz2", {}, xz2_run)[choice]) != str(experiment_settings(plan.cfg, "xz2")[choice])
    # One job per alpha: its job settings and that alpha, not the grid.
    one = plan.settings("hz1_increments", {"alpha": "0.5"})
    assert one["alpha"] == 0.5 and "alphas" not in one
    assert plan.label("hz1_reference_alpha", {}) == f"alpha={plan.cfg['experiments']['hz1']['reference_alpha']:g}"
    assert plan.label("crx4", {"dataset": "ode"}) == "ode"
    # The analyses rerun per declared choice: the claims' own and what they read.
    assert plan.sensitivity_analyses() == ["hz4", "xz2", "crx1", "crx4", "tvg_solve", "tvg_continuum", "tvg_claims"]
    assert "hz1" not in plan.sensitivity_analyses()


def test_the_cpu_table_holds_the_cpu_claims_and_names_what_it_leaves_out(repo):
    plan = _plan(repo, "paper", cpu_only=True)
    files = plan.claim_files(cpu_only=True)
    assert "results/paper/huang_zhang/hz1/reference_alpha/claim.json" in files
    assert "results/paper/huang_zhang/hz1/claim.json" not in files
    assert "results/paper/cont_rossier_xu/crx4/ode/claim.json" in files
    assert "results/paper/cont_rossier_xu/crx4/mnist_features/claim.json" not in files
    assert "CRX.4:mnist_features" in plan.cpu_left_out_parts()
    assert plan.in_this_run("hz1_reference_alpha") and not plan.in_this_run("hz1")
    assert plan.table == "results/paper/replication/claims_cpu"
    # Without figures_only nothing is pending; every claim part is a file of the full table.
    assert plan.pending_claims() == [] and len(_plan(repo, "paper").claim_files()) == sum(
        len(plan.claim_parts(c)) for c in CLAIMS.values())


def test_paper_scale_asks_for_a_gpu_unless_the_run_is_the_cpu_one(repo):
    assert _plan(repo, "paper").device == "cuda"
    assert _plan(repo, "paper", cpu_only=True).device == "auto"
    assert _plan(repo, "paper", device="cpu").device == "cpu"
    assert _plan(repo, "quick").device == "auto"


@pytest.mark.parametrize("design, drawn", [("2026-12-05", True), ("2026-12-01", False)])
def test_figures_only_asks_no_figure_of_a_claim_whose_results_ran_an_earlier_design(repo, tmp_path, design, drawn):
    """Re-rendering a snapshot: a claim whose file is of an earlier design is shown as such by
    its notebook cell, which draws nothing, so the notebook is not asked for its figures."""
    import json

    from deeplimits.registry import analysis_of

    plan = _plan(repo, "quick", results_dir=str(tmp_path), figures_only=True)
    for key, rel in analysis_of("crx2").outputs.items():
        path = tmp_path / "quick" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"claim": "CRX.2", "design": design}) if key == "claim" else "a\n1\n")
    assert CLAIMS["CRX.2"].design == "2026-12-05"
    figures = plan.notebook_figures("cont_rossier_xu")
    assert any(f.endswith("crx2_scaling.png") for f in figures) == drawn


def test_figures_only_asks_no_figure_of_the_one_dataset_whose_results_ran_an_earlier_design(repo, tmp_path):
    """A merged snapshot: TvG on one dataset reran its current design, the other did not yet;
    the notebook draws the current dataset's figures and is asked for those alone."""
    import json

    from deeplimits.registry import analysis_of

    plan = _plan(repo, "paper", results_dir=str(tmp_path), figures_only=True, cpu_only=True)
    datasets = plan.datasets_of("tvg_claims")
    assert len(datasets) >= 2
    old, new = datasets[0], datasets[1]
    for ds, design in ((old, "2026-12-01"), (new, CLAIMS["TvG.6"].design)):
        outputs = {k: v for a in ("tvg_solve", "tvg_continuum", "tvg_claims", "tvg3")
                   for k, v in analysis_of(a).outputs.items()}
        for key, rel in outputs.items():
            if ds == old and key == "claim_tvg6":
                continue  # the earlier design had no TvG.6
            path = tmp_path / "paper" / rel.format(dataset=ds)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"claim": "TvG.1", "design": design}) if key.startswith("claim") else "a\n1\n")
    figures = plan.notebook_figures("thorpe_van_gennip")
    assert any(f.endswith(f"tvg6_gaps_{new}.png") for f in figures)
    assert not any(f.endswith(f"tvg6_gaps_{old}.png") or f.endswith(f"tvg2_distances_{old}.png") for f in figures)
