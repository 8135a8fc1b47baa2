"""Cont, Rossier & Xu (CRX.1-CRX.4): judges on hand-made values, CRX.4's sensitivity plumbing."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis.cont_rossier_xu import (
    crx1_measures,
    crx2_measures,
    crx3_measures,
    crx4_fits,
    crx6_measures,
    judge_crx4,
    least_squares_residual,
    path_distances,
)
from deeplimits.claims import build_table, write_claim
from deeplimits.judges import decide_measures, judged
from deeplimits.plan import job_settings, sensitivity_cells, sensitivity_choice, sensitivity_names
from deeplimits.sensitivity import sensitivity_note, write_sensitivity_table
from deeplimits.uncertainty import measure, not_fitted


def _scaling(beta: float, noise: float = 0.0, plateau: tuple = (), depths=(4, 16, 64, 256), bend=None) -> pd.DataFrame:
    """max_norm = L^-(beta + noise * (s - 1)) for five seeds s (a per-seed exponent); at the
    depths in `plateau` seed 0 stopped on the plateau rule, elsewhere every seed at the
    threshold; `bend` (depth, factor) multiplies max_norm from that depth on (a broken law)."""
    rows = []
    for depth in depths:
        for s in range(5):
            value = depth ** -(beta + noise * (s - 2)) * (bend[1] if bend and depth >= bend[0] else 1.0)
            rows.append({"dataset": "ode", "model": "relu_layer", "depth": depth, "seed": s, "max_norm": value,
                         "max_increment": 1.0, "root_ssq": 1.0, "stop_epoch": 5,
                         "stop_reason": "plateau" if depth in plateau and s == 0 else "threshold"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("beta, noise, expected", [
    (0.5, 0.0, "reproduced"),       # exactly the target
    (0.55, 0.01, "reproduced"),     # inside the band, narrow interval
    (0.9, 0.01, "not reproduced"),  # far outside
    (0.6, 0.01, "inconclusive"),    # on the band edge: the interval over the seeds' betas straddles it
])
def test_judge_crx4(beta, noise, expected):
    fits, measures, laws = crx4_fits(_scaling(beta, noise), tol=0.1)
    assert fits.beta.iloc[0] == pytest.approx(beta, abs=0.01)
    assert fits.beta_lo.iloc[0] <= fits.beta.iloc[0] <= fits.beta_hi.iloc[0]
    assert judge_crx4(measures, n_depths=4, scale="paper") == expected and laws == {}
    assert judge_crx4(measures, n_depths=2, scale="paper") == "not at this scale"


def test_crx4_fits_only_depths_where_every_seed_stopped_at_the_threshold():
    # At L = 2 and 3 a seed stopped on the plateau with a much larger norm: left out, beta exact.
    table = _scaling(0.5, depths=(2, 3, 4, 8, 16, 64))
    table.loc[table.depth <= 3, "max_norm"] *= 5.0
    table.loc[(table.depth <= 3) & (table.seed == 0), "stop_reason"] = "plateau"
    fits, measures, _ = crx4_fits(table, tol=0.1)
    assert fits.fitted_depths.iloc[0] == "4 8 16 64" and fits.left_out_depths.iloc[0] == "2 3"
    assert fits.beta.iloc[0] == pytest.approx(0.5) and judge_crx4(measures, 6, "paper") == "reproduced"
    everything, _, _ = crx4_fits(table, tol=0.1, stopping="none")  # no threshold: every depth counts
    assert everything.left_out_depths.iloc[0] == "" and everything.beta.iloc[0] > 0.6


@pytest.mark.parametrize("plateau, depths", [
    ((64, 256), (4, 16, 64, 256)),     # two depths left: fewer than 4
    ((), (32, 48, 64, 96)),            # four depths spanning x3: less than x4
])
def test_crx4_says_not_fitted_without_four_depths_spanning_x4(plateau, depths):
    fits, measures, laws = crx4_fits(_scaling(0.5, plateau=plateau, depths=depths), tol=0.1)
    assert not fits.fitted.iloc[0] and fits.beta.isna().all()
    assert "not fitted" in laws["relu_layer"] and judge_crx4(measures, 4, "paper") == "inconclusive"


def test_crx4_names_a_broken_law_and_does_not_pass_it():
    # beta = 0.5 on each half, but the norm jumps x20 between them: no single power law.
    fits, measures, laws = crx4_fits(_scaling(0.5, depths=(4, 8, 16, 32, 64, 128), bend=(32, 20.0)), tol=0.1)
    assert "relu_layer" in laws and "non-monotone" in laws["relu_layer"]
    assert judge_crx4(measures, 6, "paper") == "not reproduced"
    _, _, smooth = crx4_fits(_scaling(0.5, depths=(4, 8, 16, 32, 64, 128)), tol=0.1)
    assert smooth == {}
    # The same slope on both halves, but the norm rises at L = 8 and 64: a non-monotone sequence.
    zigzag = _scaling(0.5, depths=(4, 8, 16, 32, 64, 128))
    zigzag.loc[zigzag.depth.isin([8, 64]), "max_norm"] *= 1.5
    fits, measures, laws = crx4_fits(zigzag, tol=0.1)
    assert fits.beta.iloc[0] == pytest.approx(0.5, abs=0.1) and "non-monotone" in laws["relu_layer"]
    assert judge_crx4(measures, 6, "paper") == "not reproduced"


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
    cfg = {"experiments": {"crx4": {"datasets": ["ode"], "models": ["tanh_shared"], "max_depth": 12,
                                    "depth_stride": 1, "sensitivity_max_depth": {"stopping=none": 6}, **SETTINGS}}}
    cells = sensitivity_cells(cfg, "crx4", "stopping=none")
    assert [c.depth for c in cells] == [3, 4, 5, 6]
    assert cells[0].path == "crx4/ode/tanh_shared~stopping=none/L3"
    assert [c.depth for c in sensitivity_cells(cfg, "crx4", "s0=1")] == [3, 4, 5, 6, 7, 8, 10, 12]
    assert [c.path for c in sensitivity_cells(cfg, "crx4", "main_to_6")][-1] == "crx4/ode/tanh_shared/L6"
    assert sensitivity_names(cfg["experiments"]["crx4"]) == ["s0=1", "stopping=none", "main_to_6"]


def _claim(path, verdict, value, depths="3..100"):
    m = measure("beta tanh", value, (value - 0.02, value + 0.02, "m"), 0.1, 0.3)
    assert m.verdict == verdict
    path.parent.mkdir(parents=True, exist_ok=True)
    write_claim({"claim": path}, "claim", "CRX.4", scale="paper", measured="b", target="t", tolerance="x",
                label="ode", measures=[m], note="protocol: companion", values={"depths": depths})


def test_sensitivity_table_names_the_choices_that_flip_the_verdict(tmp_path):
    _claim(tmp_path / "claim.json", "reproduced", 0.2)
    _claim(tmp_path / "sensitivity" / "s0=1" / "claim.json", "not reproduced", 0.05)
    _claim(tmp_path / "sensitivity" / "loss=half_sum" / "claim.json", "reproduced", 0.22)
    runs = [tmp_path / "sensitivity" / n / "claim.json" for n in ("s0=1", "loss=half_sum")]
    summary = write_sensitivity_table(tmp_path / "claim.json", runs, tmp_path / "s.csv", tmp_path / "s.json")
    assert summary["sensitive_to"] == [{"choice": "s0", "value": "1", "verdict": "not reproduced",
                                        "reference": "reproduced", "depths": "3..100"}]
    assert sensitivity_note(summary) == ("sensitive to: s0=1 (not reproduced vs reproduced); "
                                         "numbers that flip: beta tanh not reproduced under s0=1")
    table = pd.read_csv(tmp_path / "s.csv")
    assert table.choice.tolist() == ["main setting", "s0", "loss"]
    assert table.measure_verdict.tolist() == ["reproduced", "not reproduced", "reproduced"]
    # The replication table carries the note on the claim's row, beside its interval.
    frame = build_table([tmp_path / "claim.json"], "paper", tmp_path / "t.csv", tmp_path / "t.md",
                        sensitivity_files=[tmp_path / "s.json"]).set_index("claim")
    assert frame.loc["CRX.4", "note"].startswith("protocol: companion; sensitive to: s0=1 (not reproduced vs reproduced)")
    assert frame.loc["CRX.4", "interval"] == "beta tanh 0.2 [0.18, 0.22]"
    # No flip: the note says which choices were tried.
    flat = write_sensitivity_table(tmp_path / "claim.json", runs[1:], tmp_path / "f.csv", tmp_path / "f.json")
    assert sensitivity_note(flat) == "verdict not sensitive to the declared choices (loss)"
    assert json.loads((tmp_path / "f.json").read_text())["choices"] == ["loss"]


def test_a_run_on_a_smaller_grid_is_compared_with_the_main_setting_on_that_grid(tmp_path):
    _claim(tmp_path / "claim.json", "reproduced", 0.2)
    # Over depths 3..10 the main setting itself is not reproduced; so is the run: no flip.
    _claim(tmp_path / "main_to_10" / "claim.json", "not reproduced", 0.05, depths="3..10")
    _claim(tmp_path / "stopping=none" / "claim.json", "not reproduced", 0.06, depths="3..10")
    runs = [tmp_path / n / "claim.json" for n in ("stopping=none", "main_to_10")]
    summary = write_sensitivity_table(tmp_path / "claim.json", runs, tmp_path / "s.csv", tmp_path / "s.json")
    assert summary["sensitive_to"] == [] and summary["choices"] == ["stopping"]
    assert summary["measures_sensitive_to"] == []
    table = pd.read_csv(tmp_path / "s.csv")
    assert table.value.fillna("").tolist() == ["", "none", "depths <= 10"]


def test_a_number_that_flips_is_named_even_when_the_claim_verdict_stays(tmp_path):
    def two(path, tanh, relu):
        ms = [measure("beta tanh", tanh, (tanh - 0.01, tanh + 0.01, "m"), 0.1, 0.3),
              measure("beta relu", relu, (relu - 0.01, relu + 0.01, "m"), 0.4, 0.6)]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_claim({"claim": path}, "claim", "CRX.4", scale="paper", measured="b", target="t", tolerance="x",
                    label="ode", measures=ms, values={"depths": "3..100"})

    two(tmp_path / "claim.json", 0.4, 0.7)             # both outside
    two(tmp_path / "s0=1" / "claim.json", 0.05, 0.5)   # relu inside, tanh still outside
    summary = write_sensitivity_table(tmp_path / "claim.json", [tmp_path / "s0=1" / "claim.json"],
                                tmp_path / "s.csv", tmp_path / "s.json")
    assert summary["sensitive_to"] == []
    assert sensitivity_note(summary) == ("verdict not sensitive to the declared choices (s0); "
                                         "numbers that flip: beta relu reproduced under s0=1")
    # A run whose law could not be fitted says so, not only that its number flipped.
    unfit = tmp_path / "stopping=none" / "claim.json"
    unfit.parent.mkdir()
    write_claim({"claim": unfit}, "claim", "CRX.4", scale="paper", measured="b", target="t", tolerance="x",
                label="ode", values={"depths": "3..100"},
                measures=[measure("beta tanh", 0.4, (0.39, 0.41, "m"), 0.1, 0.3),
                          measure("beta relu", math.nan, not_fitted("fewer than 4 depths"), 0.4, 0.6)])
    summary = write_sensitivity_table(tmp_path / "claim.json", [unfit], tmp_path / "u.csv", tmp_path / "u.json")
    assert sensitivity_note(summary).endswith("numbers that flip: beta relu inconclusive (not fitted) under stopping=none")


def test_a_run_folder_must_name_its_choice(tmp_path):
    _claim(tmp_path / "claim.json", "reproduced", 0.2)
    _claim(tmp_path / "odd" / "claim.json", "reproduced", 0.2)
    with pytest.raises(ValueError, match="<choice>=<value>"):
        write_sensitivity_table(tmp_path / "claim.json", [tmp_path / "odd" / "claim.json"], tmp_path / "s.csv",
                          tmp_path / "s.json")


CRX1_SETTINGS = {"r2_min": 0.99, "optimum_ratio": 1e-6}


def _rates(treated_log10, r2=0.999, control_log10=(-0.3,), spread=0.0):
    """Five seeds per depth: the treated arm at L = 16, 64 reaches 10^treated_log10 of its
    initial loss with log-linear r2 `r2`; the control (L = 64) keeps 10^control_log10."""
    rows = [{"arm": "treated", "depth": d, "seed": s, "rate": -0.03 * (1 + spread * (d == 64)), "r2": r2,
             "log10_ratio": treated_log10 + 0.01 * s} for d in (16, 64) for s in range(5)]
    rows += [{"arm": "control", "depth": 64, "seed": s, "rate": -1e-4, "r2": 0.5,
              "log10_ratio": control_log10[s % len(control_log10)] + 0.01 * s} for s in range(5)]
    return pd.DataFrame(rows)


def _crx1(rates, plateau=-1.0, ratios=(1.0,) * 5):
    measures = crx1_measures(rates, CRX1_SETTINGS, plateau, ratios)
    return decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])[0], measures


@pytest.mark.parametrize("rates, ratios, expected", [
    (_rates(-8.0), (1.0,) * 5, "reproduced"),                      # optimum reached, control stuck on its plateau
    (_rates(-4.0), (1.0,) * 5, "not reproduced"),                  # the budget ends far from the optimum
    (_rates(-8.0, r2=0.9), (1.0,) * 5, "not reproduced"),          # not a straight line in log(loss)
    (_rates(-8.0, control_log10=(-8.0,)), (1.0,) * 5, "inconclusive"),  # the control converges too
    (_rates(-8.0, control_log10=(-3.0,)), (1.0,) * 5, "inconclusive"),  # the control between the bands
    (_rates(-8.0), (1e-5,) * 5, "inconclusive"),                   # the control's outputs collapsed
])
def test_judge_crx1(rates, ratios, expected):
    verdict, measures = _crx1(rates, ratios=ratios)
    assert verdict == expected
    assert [m.role for m in measures] == ["treated", "treated", "control", "reported"]


def test_crx1_reports_the_rates_spread_over_depth():
    _, measures = _crx1(_rates(-8.0, spread=0.5))
    assert measures[-1].name == "rate spread over depth" and measures[-1].value == pytest.approx(0.4)


def test_crx1_figure_table_keeps_evenly_spaced_steps_and_the_last_of_every_curve():
    from deeplimits.analysis.cont_rossier_xu import figure_steps

    losses = pd.DataFrame([{"arm": a, "depth": 16, "seed": s, "gd_step": k, "train_loss": 0.9 ** k}
                           for a in ("treated", "control") for s in range(2) for k in range(601)])
    kept = figure_steps(losses, points=150)
    for _, curve in kept.groupby(["arm", "seed"]):
        assert curve.gd_step.tolist() == list(range(0, 601, 4))
    assert figure_steps(losses.head(50), points=150).equals(losses.head(50))  # short curves whole
    ragged = losses[losses.gd_step <= 602 - 3]  # a last step off the stride stays
    assert figure_steps(ragged, points=150).gd_step.max() == 599


def test_the_least_squares_residual_is_what_a_linear_map_keeps():
    x = torch.eye(4, dtype=torch.float64)
    assert least_squares_residual(x, 2 * x) == pytest.approx(0.0, abs=1e-20)  # n <= d: interpolated
    x = torch.tensor([[1.0], [1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    assert least_squares_residual(x, y) == pytest.approx(0.5)  # one input, two targets: w = 0


def _weights(beta, noise=0.0):
    """Five seeds whose betas are beta - 2 noise, ..., beta + 2 noise."""
    return pd.DataFrame([{"depth": d, "seed": s, "max_norm_A": d ** -(beta + noise * (s - 2))}
                         for d in (16, 64, 256, 1024) for s in range(5)])


@pytest.mark.parametrize("beta, noise, expected", [
    (0.5, 0.0, "reproduced"), (0.52, 0.01, "reproduced"), (0.3, 0.01, "not reproduced"), (0.55, 0.2, "inconclusive"),
])
def test_crx2_is_reported_beside_its_band(beta, noise, expected):
    from deeplimits.judges import judge

    (m,) = crx2_measures(_weights(beta, noise), 0.5, 0.05)
    assert m.role == "reported" and m.verdict == expected  # where the number lies against the band, shown
    assert judge("CRX.2", {"measures": [m.as_dict()]}, "quick") == "reported"  # but the row is not judged


def _variations(exponents, noise=0.0):
    """V1, V2, QV per (init, depth, seed) growing like L^exponent."""
    rows = []
    for init, cols in exponents.items():
        for d in (16, 64, 256):
            for s in (0, 1):
                rows.append({"init": init, "depth": d, "seed": s,
                             **{c: d**e * (1 + noise * (2 * s - 1) * (d == 256)) for c, e in cols.items()}})
    return pd.DataFrame(rows)


def test_judge_crx3():
    good = {"zero": {"V1": 0.0}, "iid_dL2": {"V2": 0.02, "V1": 0.5}, "iid_dL": {"QV": 1.0}}
    assert judged(crx3_measures(_variations(good), 0.15), "quick") == "reproduced"
    rough = dict(good, zero={"V1": 0.5})  # zero init not smooth
    assert judged(crx3_measures(_variations(rough), 0.15), "quick") == "not reproduced"
    edge = dict(good, zero={"V1": 0.15})
    measures = crx3_measures(_variations(edge, noise=0.3), 0.15)  # draws that differ: an interval over them
    assert measures[0].name == "zero: V1" and measures[0].verdict == "inconclusive"
    same = crx3_measures(_variations(good), 0.15)[0]  # the zero init's seeds agree: one number, no interval
    assert same.method == "deterministic" and same.lo == same.hi == pytest.approx(0.0, abs=1e-12)


def test_the_entry_table_keeps_about_entry_points_layers_per_model_with_its_columns(tmp_path, monkeypatch):
    """The figure's table of the deepest net: every column kept, at most ENTRY_POINTS-ish rows per model."""
    from deeplimits.analysis import cont_rossier_xu as crx

    entries = pd.DataFrame([{"dataset": "ode", "model": m, "depth": 10, "s": (k + 0.5) / 10, "entry": float(k)}
                            for m in ("tanh_shared", "relu_layer") for k in range(10)])
    monkeypatch.setattr(crx, "ENTRY_POINTS", 4)
    deepest = crx.entry_decomposition(entries)
    assert set(deepest.columns) >= {"dataset", "model", "s", "entry", "trend", "noise"}
    assert deepest.groupby("model").size().tolist() == [4, 4]  # layers 0, 3, 6, 9 of each


@pytest.mark.parametrize("init", ["zero", "iid_dL"])
def test_a_cell_s_initial_state_is_rebuilt_as_it_was_trained(tmp_path, init):
    """CRX.3's displacement A_T - A_0 needs A_0, which no file stores: rebuilt from the
    generators, it is zero for the zero init and the untrained model's weights otherwise."""
    from deeplimits.cells import build, initial_state, load_weights, run_cell
    from deeplimits.data.prepare import prepare_dataset
    from deeplimits.plan import Cell

    data = tmp_path / "near_orthogonal.pt"
    prepare_dataset("near_orthogonal", {"near_orthogonal": {"dim": 4, "n": 2, "max_overlap": 0.0}}, 0, data)
    cell, settings = Cell("crx3", "near_orthogonal", init, 6), {"seeds": 2, "dtype": "float64", "init_std": 0.1,
                                                               "steps": 5, "lr": 1.0, "checkpoint_every": 100}
    run_cell(cell, settings, data, tmp_path / "cell", root_seed=3, show_progress=False)
    a0 = initial_state(tmp_path / "cell", {"x_shape": [4]}, root_seed=3)["A"]
    trained = load_weights(tmp_path / "cell")["state"]["A"]
    torch.manual_seed(3)
    fresh, _, _ = build(cell, settings, {"meta": {}, "x_train": torch.zeros(1, 4)}, 3)
    assert torch.equal(a0, fresh.A.detach()) and not torch.equal(a0, trained)
    assert (init == "zero") == bool((a0 == 0).all())
    # With a zero step size the weights never move: the rebuilt start is what run_cell started from.
    run_cell(cell, dict(settings, lr=0.0), data, tmp_path / "still", root_seed=3, show_progress=False)
    assert torch.equal(initial_state(tmp_path / "still", {"x_shape": [4]}, root_seed=3)["A"],
                       load_weights(tmp_path / "still")["state"]["A"])


def test_path_distances_on_known_paths():
    # X_L constant 1 on L = 2 layers; X_2L = 1, 1, 1, 3 (one 2x2 matrix each, Frobenius = 2 |entry|).
    x_l = torch.ones(2, 2, 2, dtype=torch.float64)
    x_2l = torch.ones(4, 2, 2, dtype=torch.float64)
    x_2l[3] = 3.0
    l2, sup = path_distances(x_l, x_2l)
    assert sup == pytest.approx(4.0) and l2 == pytest.approx((16.0 / 4) ** 0.5)
    assert path_distances(x_l, x_l.repeat_interleave(2, dim=0)) == (0.0, 0.0)


def _distances(slopes: dict) -> pd.DataFrame:
    """distance(L) = L^slope per (quantity, init), five seeds with +-0.02 in the slope (the zero
    init, trained from zero on fixed data, the same in every seed)."""
    return pd.DataFrame([{"quantity": q, "init": i, "L": L, "seed": s, "sup": 1.0,
                          "L2": L ** (b + 0.01 * (s - 2) * (i != "zero"))}
                         for (q, i), b in slopes.items() for L in (16, 32, 64, 128) for s in range(5)])


CONVERGING = {("weights", "zero"): -1.0, ("displacement", "zero"): -1.0, ("displacement", "iid_dL"): -0.5,
              ("weights", "iid_dL"): 0.0, ("weights", "iid_d"): 0.5, ("displacement", "iid_d"): 0.0}


@pytest.mark.parametrize("change, expected", [
    ({}, "reproduced"),                                    # every judged path converges; iid_d only reported
    ({("displacement", "iid_dL"): 0.0}, "not reproduced"),   # a displacement that does not converge
    ({("displacement", "iid_dL"): -0.25}, "inconclusive"),   # on the band edge
    ({("weights", "zero"): 0.0, ("displacement", "zero"): 0.0}, "not reproduced"),  # the zero init's path does not
])
def test_judge_crx6(change, expected):
    measures = crx6_measures(_distances({**CONVERGING, **change}), converged=0.25)
    roles = {m.name: m.role for m in measures}
    assert roles["weights iid_dL"] == roles["weights iid_d"] == roles["displacement iid_d"] == "reported"
    assert "displacement zero" not in roles  # from A_0 = 0 it is the weights: judged once
    zero = next(m for m in measures if m.name == "weights zero")
    assert zero.method == "deterministic" and zero.lo == zero.hi == zero.value  # no interval (R3)
    assert judged([m for m in measures if m.role == "treated"], "quick") == expected


def test_crx6_entry_on_trained_cells(tmp_path):
    """CRX.6's analysis on real (tiny) CRX.3 cells: for the zero init the displacement is the
    weights themselves, so both rows of the distance table agree to the last digit."""
    from deeplimits.analysis.cont_rossier_xu import crx6
    from deeplimits.cells import run_cell
    from deeplimits.data.prepare import prepare_dataset
    from deeplimits.plan import Cell

    data = tmp_path / "near_orthogonal.pt"
    prepare_dataset("near_orthogonal", {"near_orthogonal": {"dim": 4, "n": 2, "max_overlap": 0.0}}, 0, data)
    settings = {"seeds": 2, "dtype": "float64", "init_std": 0.1, "steps": 20, "lr": 1.0, "checkpoint_every": 100}
    cells = []
    for init in ("zero", "iid_dL"):
        for depth in (4, 8, 16):
            out = tmp_path / "train" / init / f"L{depth}"
            run_cell(Cell("crx3", "near_orthogonal", init, depth), settings, data, out, root_seed=0, show_progress=False)
            cells.append(str(out / "weights.pt"))
    outputs = {k: str(tmp_path / f"{k}.{'json' if k == 'claim' else 'csv'}") for k in ("claim", "distances", "slopes")}
    result = crx6({"converged_slope": 0.25}, {"cells": cells}, outputs, scale="smoke", seed=0)
    d = result["distances"].set_index(["init", "quantity", "L", "seed"]).sort_index()
    assert sorted(result["distances"].L.unique()) == [4, 8]  # pairs (4, 8) and (8, 16)
    assert np.allclose(d.loc[("zero", "weights")].L2, d.loc[("zero", "displacement")].L2)
    assert not np.allclose(d.loc[("iid_dL", "weights")].L2, d.loc[("iid_dL", "displacement")].L2)
    claim = json.loads(open(outputs["claim"]).read())
    assert claim["claim"] == "CRX.6" and {m["name"] for m in claim["values"]["measures"]} == {
        "weights zero", "weights iid_dL", "displacement iid_dL"}
    assert next(m for m in claim["values"]["measures"] if m["name"] == "weights zero")["method"] == "deterministic"


# ------------------------------------------------------------------ CRX.5
CRX5 = {"spearman_min": 0.7, "plateau_fraction": 0.5}


def _crx5_rates(rate_of, control_ratio=1.0, seeds=3):
    """Hand-made rates of a 3 x 2 x 3 grid: rate = rate_of(lambda_min / N) per seed; the control
    ends at control_ratio x its least-squares floor."""
    rows = []
    for d in (8, 16, 32):
        for n in (d // 4, d // 2):
            for rho in (0.0, 0.3, 0.6):
                lam = 1 - rho
                rows += [{"arm": "treated", "width": d, "n": n, "rho": rho, "seed": s, "lambda_min": lam,
                          "lambda_min_over_n": lam / n, "rate": rate_of(lam / n, s)} for s in range(seeds)]
        rows += [{"arm": "control", "width": d, "n": 2 * d, "rho": np.nan, "seed": s, "lambda_min": 0.0,
                  "lambda_min_over_n": 0.0, "rate": 1e-4, "final_loss": control_ratio * 0.3,
                  "least_squares_residual": 0.3, "output_ratio": 1.0} for s in range(seeds)]
    return pd.DataFrame(rows)


def _crx5_verdict(rates):
    from deeplimits.analysis.cont_rossier_xu import crx5_measures

    measures, found = crx5_measures(rates, CRX5)
    return decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])[0], found


def test_judge_crx5_on_known_rates():
    """The kernel's rate 2 eta lambda_min / N: rho 1, reproduced; a rate that ignores N (only
    lambda_min): rho well below 0.7, not reproduced; a control that passes its floor: the test
    does not hold (its interval is outside the control band)."""
    verdict, found = _crx5_verdict(_crx5_rates(lambda x, s: 2 * x * (1 + 0.01 * s)))
    assert verdict == "reproduced" and found["rho"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert _crx5_verdict(_crx5_rates(lambda x, s: rng.uniform()))[0] == "not reproduced"
    assert _crx5_verdict(_crx5_rates(lambda x, s: 2 * x, control_ratio=0.01))[0] == "inconclusive"


def test_crx5_entry_at_smoke_size():
    """The real entry on a tiny grid: each treated cell's lambda_min is 1 - rho (equicorrelated
    unit inputs), the control's is 0, and every cell has its seeds' rates."""
    import tempfile

    from deeplimits.analysis.cont_rossier_xu import crx5

    settings = {"depth": 4, "widths": [4, 8], "n_ratios": [0.5, 1.0], "rhos": [0.0, 0.5], "seeds": 2, "steps": 30,
                "lr": 1.0, "init_std": 0.1, "fit_from": 5, "spearman_min": 0.7, "plateau_fraction": 0.5}
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {"claim": f"{tmp}/claim.json", "rates": f"{tmp}/rates.csv"}
        rates = crx5(settings, {}, outputs, scale="smoke", seed=0)["rates"]
        claim = json.loads(open(outputs["claim"]).read())
    treated = rates[rates.arm == "treated"]
    assert np.allclose(treated.lambda_min, 1 - treated.rho)
    assert np.allclose(rates[rates.arm == "control"].lambda_min, 0.0, atol=1e-9)
    assert len(rates) == (2 * 2 * 2 + 2) * 2 and claim["claim"] == "CRX.5"
    assert (treated.rate > 0).all()
