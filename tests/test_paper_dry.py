"""The paper-scale DAG exercised end to end before anyone spends GPU hours on it: every rule of
`--config scale=paper` runs, at the papers' architectures (HZ.1's 128-channel 32x32 inputs,
HZ.2's width-128 conv ResNet on CIFAR-10, XZ.3/4's width-128 nets on Fashion-MNIST, CRX.4 on
the ODE data and on MNIST features, TvG on digits and Fashion-MNIST) and data formats, with
tiny sample counts, epochs and depth grids. CIFAR-10, MNIST and Fashion-MNIST come from a
file:// mirror of tiny files in their real formats (gzipped IDX, the CIFAR python tarball),
verified against the config's own checksums (data.checksums)."""

import json

import pandas as pd
import yaml

from deeplimits.data.prepared import load_prepared
from deeplimits.registry import CLAIMS

from .fixtures_data import cifar_like, mnist_like
from .test_workflow import planned_jobs, snakemake


def _mirror(tmp_path):
    """Tiny CIFAR-10, MNIST and Fashion-MNIST, and their file:// mirrors and checksums."""
    mirrors, checksums = {}, {}
    for name, (files, spec) in {"cifar10": cifar_like(), "mnist": mnist_like(1), "fashion_mnist": mnist_like(2)}.items():
        folder = tmp_path / "mirror" / name
        folder.mkdir(parents=True)
        for fname, blob in files.items():
            (folder / fname).write_bytes(blob)
        md5s = {f.name: f.md5 for f in spec.files} | dict(spec.inner_train + spec.inner_test)
        if spec.inner_meta:
            md5s[dict(spec.inner_meta)["filename"]] = dict(spec.inner_meta)["md5"]
        mirrors[name], checksums[name] = [folder.as_uri() + "/"], md5s
    return mirrors, checksums


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) and k != "mirrors" else v
    return out


def _tiny_paper(mirrors, checksums) -> dict:
    """Overrides of config.yaml's paper values: sizes only, never an architecture."""
    return {
        "device": "cpu", "progress": False,
        "data": {"mirrors": mirrors, "checksums": checksums, "random_images": {"n": 4},
                 "ode": {"n_train": 64, "n_test": 16}},
        "experiments": {
            "hz1": {"depth": 8, "alphas": [0.1, 0.2], "fit_from": 2, "checkpoint_every": 4, "networks": 1},
            "hz2": {"depth": 3, "epochs": 1, "batch_size": 8, "milestones": []},
            "hz3": {"depth": 6, "n_inputs": 4},
            "hz4": {"depths": [2, 4, 8], "alphas": [1.0, -0.5], "epochs": 1, "batch_size": 8},
            "xz1": {"depth": 16, "n_segments": 1},
            "xz2": {"depth": 64, "min_depth": 16, "sequences": 2, "n_inputs": 8, "he_nets": 1,
                    "sensitivity": {"min_depth": [32]}},  # the run's grid, 32..64, is too short to judge
            "xz5": {"depth": 64, "min_depth": 16, "sequences": 2, "n_inputs": 8},
            "hz5": {"depth": 64, "min_depth": 16, "networks": 2, "n_inputs": 8, "width": 8, "branch_width": 8},
            "xz34": {"depths": [2, 4], "epochs": 1, "batch_size": 8, "seeds": 2},
            "crx1": {"depths": [4, 8, 16], "steps": 10, "fit_from": 2},
            "crx3": {"depths": [4, 8], "steps": 10},
            "crx5": {"depth": 4, "widths": [4, 8], "n_ratios": [0.5, 1.0], "rhos": [0.0, 0.5], "seeds": 2, "steps": 20,
                     "fit_from": 5},
            # Two declared choices are enough to run the sensitivity rules (one limited in depth).
            "crx4": {"max_depth": 4, "epochs": 2, "seeds": 2, "batch_size": 4,
                     "sensitivity": {"s0": [1.0], "stopping": ["none"], "loss": [], "batching": []},
                     "paper": {"sensitivity_max_depth": {"stopping=none": 3}}},
            "tvg": {"n_points": 20, "depths": [4, 8, 16, 32], "max_iter": 20, "cold_starts": 1,
                    "continuum_nodes": [9], "continuum_cold_starts": 1, "continuum_max_iter": 10,
                    "euler_depths": [8, 16, 32, 64]},
        },
    }


def test_every_rule_of_the_paper_dag_runs_at_tiny_sizes(repo, tmp_path):
    mirrors, checksums = _mirror(tmp_path)
    config = tmp_path / "paper_dry.yaml"
    config.write_text(yaml.safe_dump(_merged(yaml.safe_load((repo / "config.yaml").read_text()),
                                             _tiny_paper(mirrors, checksums))))
    work = tmp_path / "run"
    work.mkdir()
    args = ["--config", "scale=paper"]
    planned = planned_jobs(snakemake(repo, work, "-n", *args, configfile=config).stdout)
    # Every rule of the paper DAG is planned, downloads included.
    for rule in ("download_data", "train", "hz1_increments", "hz1", "hz2", "hz3", "hz4", "hz4_sensitivity_run", "xz1",
                 "xz2", "xz34", "crx1", "crx2", "crx3", "crx4", "crx4_sensitivity_run", "tvg_solve", "tvg_continuum",
                 "tvg_claims", "tvg3", "sensitivity", "notebook", "claims_table", "provenance"):
        assert planned.get(rule), (rule, planned)
    # CIFAR-10 and Fashion-MNIST are download jobs; MNIST is fetched by the MNIST-features job.
    assert planned["download_data"] == 2 and planned["crx4"] == 2  # CRX.4 on ode and mnist_features
    snakemake(repo, work, *args, configfile=config)
    root = work / "results" / "paper"
    table = pd.read_csv(root / "replication" / "claims.csv")
    assert not set(table.verdict) & {"not run", "failed to run"}, table[["claim", "verdict"]]
    assert list(table.claim) == list(CLAIMS)
    for ds in ("cifar10", "fashion_mnist"):
        meta = load_prepared(root / "data" / f"{ds}.pt")["meta"]
        assert meta["n_train"] > 0 and "file://" in json.dumps(meta), meta
    assert load_prepared(root / "data" / "mnist_features.pt")["meta"]["source"].startswith("mnist through")
    features = json.loads((root / "cont_rossier_xu" / "crx4" / "mnist_features" / "claim.json").read_text())
    assert features["label"] == "mnist_features" and features["verdict"] != "not run"
    for paper in ("huang_zhang", "xu_zhang", "cont_rossier_xu", "thorpe_van_gennip"):
        assert (root / "notebooks" / f"{paper}.html").stat().st_size > 10_000
    # HZ.1 at the authors' input shape is compared point by point with their curve.
    hz1 = json.loads((root / "huang_zhang" / "hz1" / "claim.json").read_text())
    assert "x128x32x32" in hz1["note"]
