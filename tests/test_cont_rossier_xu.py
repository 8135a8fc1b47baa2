"""Cont, Rossier & Xu (CRX.1-CRX.4): judges on hand-made values, CRX.4's sensitivity plumbing."""

import json

import pandas as pd
import pytest

from deeplimits.analysis.cont_rossier_xu import crx4_fits, judge_crx4
from deeplimits.claims import build_table, write_claim
from deeplimits.plan import job_settings, sensitivity_cells, sensitivity_choice
from deeplimits.sensitivity import sensitivity_note, sensitivity_table
from deeplimits.uncertainty import measure


def _scaling(beta: float, noise: float = 0.0) -> pd.DataFrame:
    """max_norm = L^-beta for three seeds, seed s scaled by (1 + noise * (s - 1))."""
    rows = []
    for depth in (4, 16, 64, 256):
        for s in range(3):
            rows.append({"dataset": "ode", "model": "relu_layer", "depth": depth, "seed": s,
                         "max_norm": depth**-beta * (1 + noise * (s - 1)), "max_increment": 1.0, "root_ssq": 1.0,
                         "stop_epoch": 5})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("beta, noise, expected", [
    (0.5, 0.0, "reproduced"),       # exactly the target
    (0.58, 0.01, "reproduced"),     # inside the band, narrow interval
    (0.9, 0.01, "not reproduced"),  # far outside
    (0.6, 0.01, "inconclusive"),    # on the band edge: the seed interval straddles it
])
def test_judge_crx4(beta, noise, expected):
    fits, measures = crx4_fits(_scaling(beta, noise), tol=0.1)
    assert fits.beta.iloc[0] == pytest.approx(beta, abs=0.01)
    assert fits.beta_lo.iloc[0] <= fits.beta.iloc[0] <= fits.beta_hi.iloc[0]
    assert judge_crx4(measures, n_depths=4, scale="paper") == expected
    assert judge_crx4(measures, n_depths=2, scale="paper") == "not at this scale"


SETTINGS = {"s0": 1e-4, "stopping": "threshold+plateau", "epochs": 200, "seeds": 3, "checkpoint_every": 10,
            "init_method": "xavier", "loss": "mse_mean", "loss_threshold": 1e-3, "patience": 5,
            "min_improvement": 0.01, "batching": "fixed_partition", "batch_size": 32, "lr": 1e-3,
            "sensitivity": {"s0": [1.0], "stopping": ["none"]}}


def test_a_sensitivity_variant_changes_its_one_choice():
    main = job_settings("crx4", SETTINGS)
    assert main["s0"] == 1e-4 and "sensitivity" not in main
    assert job_settings("crx4", SETTINGS, "tanh_shared~s0=1") == dict(main, s0=1.0)
    assert job_settings("crx4", SETTINGS, "relu_layer~stopping=none") == dict(main, stopping="none")
    assert sensitivity_choice(SETTINGS, "x~s0=1") == ("s0", 1.0)
    with pytest.raises(KeyError, match="'s0=2' is not a declared sensitivity choice"):
        job_settings("crx4", SETTINGS, "tanh_shared~s0=2")


def test_sensitivity_cells_follow_the_grid_up_to_their_max_depth():
    cfg = {"experiments": {"crx4": {"datasets": ["ode"], "models": ["tanh_shared"], "max_depth": 100,
                                    "depth_stride": 1, "sensitivity_max_depth": 10, **SETTINGS}}}
    cells = sensitivity_cells(cfg, "crx4", "s0=1")
    assert [c.depth for c in cells] == [3, 4, 5, 6, 7, 8, 10]
    assert cells[0].path == "crx4/ode/tanh_shared~s0=1/L3"
    assert [c.variant for c in sensitivity_cells(cfg, "crx4", "main")] == ["tanh_shared"] * 7


def _claim(path, verdict, value):
    m = measure("beta tanh", value, (value - 0.02, value + 0.02, "m"), 0.1, 0.3)
    assert m.verdict == verdict
    path.parent.mkdir(parents=True, exist_ok=True)
    write_claim(path, "CRX.4", scale="paper", measured="b", target="t", tolerance="x", verdict=verdict,
                label="ode", measures=[m], note="protocol: companion")


def test_sensitivity_table_names_the_choices_that_flip_the_verdict(tmp_path):
    _claim(tmp_path / "claim.json", "reproduced", 0.2)
    _claim(tmp_path / "sensitivity" / "s0=1" / "claim.json", "not reproduced", 0.05)
    _claim(tmp_path / "sensitivity" / "loss=half_sum" / "claim.json", "reproduced", 0.22)
    runs = [tmp_path / "sensitivity" / n / "claim.json" for n in ("s0=1", "loss=half_sum")]
    summary = sensitivity_table(tmp_path / "claim.json", runs, tmp_path / "s.csv", tmp_path / "s.json")
    assert summary["sensitive_to"] == [{"choice": "s0", "value": "1", "verdict": "not reproduced"}]
    assert sensitivity_note(summary) == "sensitive to: s0=1 (not reproduced)"
    table = pd.read_csv(tmp_path / "s.csv")
    assert table.choice.tolist() == ["main setting", "s0", "loss"]
    assert table.measure_verdict.tolist() == ["reproduced", "not reproduced", "reproduced"]
    # The replication table carries the note on the claim's row, beside its interval.
    frame = build_table([tmp_path / "claim.json"], "paper", tmp_path / "t.csv", tmp_path / "t.md",
                        sensitivity_files=[tmp_path / "s.json"]).set_index("claim")
    assert frame.loc["CRX.4", "note"] == "protocol: companion; sensitive to: s0=1 (not reproduced)"
    assert frame.loc["CRX.4", "interval"] == "beta tanh 0.2 [0.18, 0.22]"
    # No flip: the note says which choices were tried.
    flat = sensitivity_table(tmp_path / "claim.json", runs[1:], tmp_path / "f.csv", tmp_path / "f.json")
    assert sensitivity_note(flat) == "not sensitive to the declared choices (loss)"
    assert json.loads((tmp_path / "f.json").read_text())["choices"] == ["loss"]


def test_a_run_folder_must_name_its_choice(tmp_path):
    _claim(tmp_path / "claim.json", "reproduced", 0.2)
    _claim(tmp_path / "odd" / "claim.json", "reproduced", 0.2)
    with pytest.raises(ValueError, match="<choice>=<value>"):
        sensitivity_table(tmp_path / "claim.json", [tmp_path / "odd" / "claim.json"], tmp_path / "s.csv",
                          tmp_path / "s.json")
