import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis import hz_theory as T
from deeplimits.analysis import relu_theory as R
from deeplimits.analysis.huang_zhang import random_conv_blocks
from deeplimits.analysis.xu_zhang import (
    choose_lr,
    xz1_eps_note,
    xz1_measures,
    xz2_measures,
    xz2_sequence_oscillation,
    xz4_measures,
)
from deeplimits.convergence import oscillation_slopes
from deeplimits.judges import decide_measures, judged
from deeplimits.models.plain import convergent_layers
from deeplimits.seeding import torch_generator


def test_explicit_product_form_equals_forward_pass():
    gen = torch_generator(0, "xz-explicit")
    for kind in ("he", "convergent"):
        if kind == "he":
            ws = [torch.randn(5, 5, generator=gen, dtype=torch.float64) * (2 / 5) ** 0.5 for _ in range(30)]
            bs = [torch.randn(5, generator=gen, dtype=torch.float64) * 0.1 for _ in range(30)]
        else:
            w, b = convergent_layers(30, 5, 0.5, gen, dtype=torch.float64)
            ws, bs = list(w), list(b)
        x = torch.randn(7, 5, generator=gen, dtype=torch.float64)
        forward = R.forward_states(ws, bs, x)[-1]
        assert float((R.explicit_output(ws, bs, x) - forward).norm() / forward.norm()) <= 1e-12


def test_pieces_on_a_hand_built_net():
    # Layer 1: two units relu(t - 0.25), relu(-t + 0.75) along x(t) = t; layer 2 sums them.
    # N1 has breakpoints at t = 0.25 and 0.75 -> 3 pieces; layer 2 (w = [1, 1], b = -0.3)
    # is positive everywhere on [0, 1] except where relu(t-.25) + relu(.75-t) < 0.3:
    # that sum is 0.5 on [0.25, 0.75], 0.75 - t + ... >= 0.5 elsewhere -> no new piece.
    w1 = np.array([[1.0], [-1.0]])
    b1 = np.array([-0.25, 0.75])
    w2 = np.array([[1.0, 1.0]])
    b2 = np.array([-0.3])
    assert R.pieces_along_segment([w1], [b1], np.array([0.0]), np.array([1.0])) == [1, 3]
    assert R.pieces_along_segment([w1, w2], [b1, b2], np.array([0.0]), np.array([1.0])) == [1, 3, 3]
    # With b2 = -0.6 the sum dips below 0.6 on [0.15, 0.85]... it is 0.5 on the middle piece:
    # the output is zero there and the activation changes at t = 0.15 and 0.85.
    counts = R.pieces_along_segment([w1, w2], [b1, np.array([-0.6])], np.array([0.0]), np.array([1.0]))
    assert counts == [1, 3, 5]


def test_piece_count_agrees_with_dense_sampling():
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=(4, 4)) for _ in range(6)]
    bs = [rng.normal(size=4) * 0.3 for _ in range(6)]
    x0, x1 = rng.normal(size=4), rng.normal(size=4)
    exact = R.pieces_along_segment(ws, bs, x0, x1)[-1]
    t = np.linspace(0, 1, 200_001)
    h = x0[None] + t[:, None] * (x1 - x0)[None]
    patterns = []
    for w, b in zip(ws, bs):
        z = h @ w.T + b
        patterns.append(z > 0)
        h = np.maximum(z, 0)
    codes = np.concatenate(patterns, axis=1)
    changes = int((codes[1:] != codes[:-1]).any(axis=1).sum())
    assert exact == changes + 1


def test_convergent_layers_are_identity_plus_a_summable_perturbation():
    gen = torch_generator(0, "conv-layers")
    w, b = convergent_layers(50, 6, 1.0, gen, dtype=torch.float64)
    dev = torch.linalg.matrix_norm(w - torch.eye(6, dtype=torch.float64), ord=2)
    n = torch.arange(1, 51, dtype=torch.float64)
    assert torch.allclose(dev, n**-2.0)
    assert torch.allclose(b.norm(dim=1), n**-2.0)


def test_hz_explicit_form_on_non_square_conv_branches():
    gen = torch_generator(0, "conv-nonsquare")
    blocks = random_conv_blocks(6, 2, 4, 0.2, gen, branch_channels=3)
    assert blocks[0][0][0].shape == (3 * 16, 2 * 16)
    y0 = torch.rand(3, 2 * 16, generator=gen, dtype=torch.float64)
    forward = T.forward_states(blocks, y0)[-1]
    assert float((T.explicit_output(blocks, y0) - forward).norm() / forward.norm()) <= 1e-12


@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_increment_slope_of_a_convergent_sequence(alpha):
    from deeplimits.analysis.fit import loglog_slope

    gen = torch_generator(1, "xz-slope")
    w, b = convergent_layers(400, 8, alpha, gen, dtype=torch.float64)
    x = torch.rand(16, 8, generator=gen, dtype=torch.float64)
    states = R.forward_states(list(w), list(b), x)
    inc = [float((states[k] - states[k - 1]).norm(dim=1).max()) for k in range(1, 401)]
    assert loglog_slope(np.arange(1, 401), inc, 10).slope == pytest.approx(-(1 + alpha), abs=0.1)


def _finals(acc):
    """Final accuracies {(init, depth): [per seed]} as the chosen cells of xz34's table."""
    return pd.DataFrame([{"init": i, "depth": d, "seed": s, "test_accuracy": a}
                         for (i, d), seeds in acc.items() for s, a in enumerate(seeds)])


LEARN, FAIL = [0.9, 0.85, 0.9, 0.88, 0.92], [0.1, 0.12, 0.08, 0.1, 0.11]


def _xz4(acc, shallow=8):
    measures, found = xz4_measures(_finals(acc), 0.1, 0.1, shallow)
    return decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])[0], measures, found


def test_xz4_judges_the_deepest_difference_he_failing_there_and_he_learning_when_shallow():
    verdict, measures, found = _xz4({("he", 4): LEARN, ("he", 64): FAIL, ("convergent", 4): LEARN,
                                     ("convergent", 64): [0.7, 0.5, 0.6, 0.65, 0.55]})
    assert verdict == "reproduced" and found["deepest"] == 64 and found["shallow_depths"] == [4]
    diff = measures[0]
    assert diff.name == "acc(convergent) - acc(He) at D=64" and diff.method.startswith("Welch")
    assert diff.value == pytest.approx(0.6 - 0.102) and diff.lo > 0
    # Half way from chance (0.1) to the best mean accuracy (0.89).
    assert found["he_learns_from"] == pytest.approx(0.1 + 0.5 * (0.89 - 0.1))


def test_xz4_fails_when_he_is_not_failed_or_not_learning_when_shallow():
    # Both learn at the deepest D: the difference straddles 0 and He is above chance + margin.
    assert _xz4({("he", 4): LEARN, ("he", 64): LEARN, ("convergent", 4): LEARN, ("convergent", 64): LEARN})[0] \
        == "not reproduced"
    # He never learns, even shallow: the pipeline may have failed it.
    assert _xz4({("he", 4): FAIL, ("he", 64): FAIL, ("convergent", 4): LEARN, ("convergent", 64): LEARN})[0] \
        == "not reproduced"
    # The convergent init fails as well at the deepest D: the difference's interval holds 0.
    assert _xz4({("he", 4): LEARN, ("he", 64): FAIL, ("convergent", 4): LEARN,
                 ("convergent", 64): [0.1, 0.3, 0.05, 0.12, 0.09]})[0] == "inconclusive"


def test_xz4_names_a_grid_without_a_shallow_depth():
    with pytest.raises(ValueError, match="he_learns_depth"):
        _xz4({("he", 16): LEARN, ("he", 64): FAIL, ("convergent", 16): LEARN, ("convergent", 64): LEARN})


def test_the_learning_rate_is_chosen_on_validation_accuracy_per_init_and_depth():
    rows = [{"init": i, "depth": d, "lr": lr, "seed": s, "validation_accuracy": v, "test_accuracy": t}
            for i, d, lr, v, t in [("he", 4, 1e-3, 0.9, 0.5), ("he", 4, 1e-4, 0.8, 0.95),
                                   ("he", 64, 1e-3, 0.1, 0.1), ("he", 64, 1e-4, 0.3, 0.2),
                                   ("convergent", 64, 1e-3, 0.7, 0.7), ("convergent", 64, 1e-4, 0.7, 0.9)]
            for s in range(2)]
    chosen = choose_lr(pd.DataFrame(rows))
    picked = chosen[chosen.chosen].drop_duplicates(["init", "depth"]).set_index(["init", "depth"]).lr
    # The validation accuracy decides, never the test accuracy; a tie keeps the first rate.
    assert picked.to_dict() == {("he", 4): 1e-3, ("he", 64): 1e-4, ("convergent", 64): 1e-3}


def test_validation_split_is_disjoint_fixed_and_of_its_share():
    from deeplimits.cells import validation_split

    train, val = validation_split(50, 0.2, 0)
    assert len(val) == 10 and len(train) == 40 and not set(train.tolist()) & set(val.tolist())
    assert torch.equal(validation_split(50, 0.2, 0)[1], val) and not torch.equal(validation_split(50, 0.2, 1)[1], val)


def test_xz34_entry_on_trained_cells(tmp_path):
    """XZ.3 and XZ.4 on real (tiny) cells, two rates per init: the accuracy table's validation
    accuracy is the loaded network's on the held-out part of the training split, one rate per
    (init, depth) is chosen, and XZ.3's layers come from the chosen cells only."""
    from deeplimits.analysis.xu_zhang import xz34
    from deeplimits.cells import load_cell_model, run_cell, validation_split
    from deeplimits.data import load_prepared
    from deeplimits.data.prepare import prepare_dataset
    from deeplimits.experiments import lr_variant
    from deeplimits.plan import Cell

    data = tmp_path / "digits.pt"
    prepare_dataset("digits", {}, 0, data)
    settings = {"seeds": 2, "width": 8, "alpha": 1.0, "epochs": 1, "batch_size": 64, "validation": 0.2,
                "checkpoint_every": 1}
    cells = []
    for init in ("he", "convergent"):
        for lr in (1e-3, 1e-4):
            for depth in (2, 8):
                out = tmp_path / "train" / lr_variant(init, lr) / f"D{depth}"
                run_cell(Cell("xz34", "digits", lr_variant(init, lr), depth), settings, data, out, root_seed=0,
                         show_progress=False)
                cells.append(str(out / "weights.pt"))
    outputs = {k: str(tmp_path / f"{k}.{'json' if k.startswith('claim') else 'csv'}")
               for k in ("claim_xz3", "claim_xz4", "accuracy", "layers", "trends")}
    result = xz34(dict(settings, lrs=[1e-3, 1e-4], learning_margin=0.1, he_learns_depth=8), {"cells": cells,
                  "data": str(data)}, outputs, scale="smoke", seed=0)
    acc = result["accuracy"]
    assert len(acc) == 16 and acc.groupby(["init", "depth"]).chosen.sum().eq(2).all()
    prepared = load_prepared(data)
    model, _ = load_cell_model(tmp_path / "train" / lr_variant("he", 1e-4) / "D8", prepared["meta"])
    _, val = validation_split(prepared["x_train"].shape[0], 0.2, 0)
    with torch.no_grad():
        x = prepared["x_train"][val]
        right = (model(x.unsqueeze(0).expand(2, *x.shape)).argmax(-1) == prepared["y_train"][val]).double().mean(1)
    row = acc[(acc.init == "he") & (acc.lr == 1e-4) & (acc.depth == 8)].sort_values("seed")
    np.testing.assert_allclose(row.validation_accuracy, right.numpy())
    layers = pd.read_csv(outputs["layers"])
    chosen = acc[acc.chosen][["init", "depth", "lr"]].drop_duplicates()
    assert set(map(tuple, layers[["init", "depth", "lr"]].drop_duplicates().to_numpy().tolist())) == \
        set(map(tuple, chosen.to_numpy().tolist()))


XZ1 = {"stable_floor": 0.95, "stable_ratio": 1.1, "rel_tolerance": 1e-10, "eps_choices": [1e-2]}


def _pieces(treated, control, output_ratio=2.0, eps=1e-4):
    """Pieces at depth 8 (D/2) and 16 (D) per draw: the treated arm grows by the ratios
    `treated`, the control by `control`; the control's outputs are output_ratio x its inputs."""
    rows = []
    for name, role, ratios in (("convergent, alpha=1", "treated", treated), ("alpha=-0.5 (control)", "control", control)):
        rows += [{"network": name, "role": role, "segment": s, "eps": eps, "depth": d, "output_ratio": output_ratio,
                  "pieces": 100.0 * (r if d == 16 else 1.0)} for s, r in enumerate(ratios) for d in (8, 16)]
    return pd.DataFrame(rows)


def _xz1(pieces, err=1e-14, eps=1e-4):
    ms = xz1_measures(pieces, 16, err, XZ1, eps)
    return decide_measures([m.as_dict() for m in ms], [m.verdict for m in ms])[0]


STILL, GROWING = [1.0, 1.0, 1.01, 1.0, 1.02], [1.4, 1.5, 1.35, 1.45, 1.5]


@pytest.mark.parametrize("pieces, err, expected", [
    (_pieces(STILL, GROWING), 1e-14, "reproduced"),
    (_pieces(STILL, GROWING), 1e-6, "not reproduced"),                  # the explicit form is off
    (_pieces(GROWING, GROWING), 1e-14, "not reproduced"),               # the treated pieces still multiply
    (_pieces([1.0, 1.0, 1.3, 1.3, 1.0], GROWING), 1e-14, "inconclusive"),  # draws straddle the 1.1 bound
    (_pieces(STILL, STILL), 1e-14, "inconclusive"),                     # the control stabilises too
    (_pieces(STILL, GROWING, output_ratio=1e-11), 1e-14, "inconclusive"),  # the control collapsed
])
def test_judge_xz1(pieces, err, expected):
    assert _xz1(pieces, err) == expected


def test_xz1_names_the_eps_that_flips_its_verdict():
    # At eps = 1e-2 the control's kinks fall under the threshold: it stops discriminating.
    pieces = pd.concat([_pieces(STILL, GROWING), _pieces(STILL, STILL, eps=1e-2)], ignore_index=True)
    note = xz1_eps_note(pieces, 16, 1e-14, XZ1, "reproduced")
    assert note == "sensitive to: eps=0.01 (inconclusive vs reproduced)"
    assert xz1_eps_note(_pieces(STILL, GROWING, eps=1e-2), 16, 1e-14, XZ1, "reproduced").startswith(
        "verdict not sensitive to the declared choices (eps=0.01)")


def test_kinks_are_counted_against_the_output_scale():
    # Layer 1: relu(t - 0.25), relu(0.75 - t) along x(t) = t: slopes (0, -1), (1, -1), (1, 0),
    # two kinks of size 1 against an output scale of 0.75 (at t = 0 and 1): relative 4/3.
    w1, b1 = np.array([[1.0], [-1.0]]), np.array([-0.25, 0.75])
    counts = R.kinks_along_segment([w1], [b1], np.array([0.0]), np.array([1.0]), [0.0, 1.0, 1.5])
    assert counts[:, 1].tolist() == [3, 3, 1] and counts[:, 0].tolist() == [1, 1, 1]
    # Layer 2 reads unit 1 alone: the pattern changes at t = 0.75, the output's slope does not,
    # so it is one linear piece fewer than the activation domains.
    w2, b2 = np.array([[1.0, 0.0]]), np.array([0.0])
    assert R.pieces_along_segment([w1, w2], [b1, b2], np.array([0.0]), np.array([1.0]))[-1] == 3
    assert R.kinks_along_segment([w1, w2], [b1, b2], np.array([0.0]), np.array([1.0]), [0.0])[0, -1] == 2


def test_xz2_oscillation_of_sequences_with_known_answers():
    """A network that converges at a known rate and one that cycles, through XZ.2's measurement."""
    width, depth = 3, 1024
    grid = [64, 128, 256, 512, 1024]
    x = torch.rand(4, width, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
    eye = torch.eye(width, dtype=torch.float64)
    # W(n) = I, b(n) = n^-2 e: N(n) = x + (sum_{i<=n} i^-2) e, so osc(D) ~ 1/D (slope -1).
    e1 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    osc, ratio, inc = xz2_sequence_oscillation([eye] * depth, [n**-2.0 * e1 for n in range(1, depth + 1)], x, grid)
    slope = np.polyfit(np.log(grid), np.log([osc[d] for d in grid]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.03) and 1 < ratio < 2
    assert inc[9] == pytest.approx(10.0**-2)  # the increment is the imposed n^-2
    # W(n) = a 3-cycle, b = 0: the outputs cycle forever, osc(D) does not decay.
    cycle = eye[[1, 2, 0]]
    osc, ratio, _ = xz2_sequence_oscillation([cycle] * depth, [0 * e1] * depth, x, grid)
    slope = np.polyfit(np.log(grid), np.log([osc[d] for d in grid]), 1)[0]
    assert abs(slope) < 1e-9 and min(osc.values()) > 0.05 and ratio == pytest.approx(1.0)


def _oscillation(slopes: dict, sequences=5, noise=0.05, ratio=3.0):
    """osc(D) = D^slope per alpha, each sequence's slope perturbed by noise."""
    rng = np.random.default_rng(0)
    rows = []
    for alpha, slope in slopes.items():
        for s in range(sequences):
            k = slope + noise * rng.standard_normal()
            rows += [{"alpha": alpha, "sequence": s, "D": d, "osc": d**k, "output_ratio": ratio}
                     for d in (128, 256, 512, 1024, 2048, 4096)]
    return pd.DataFrame(rows)


def _judge_xz2(osc):
    measures, laws = xz2_measures(oscillation_slopes(osc, "alpha"), osc, 0.1, 0.25)
    return judged(measures, "quick"), decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])


def test_judge_xz2():
    ok = _oscillation({-0.5: 0.0, 0.0: -0.5, 0.5: -1.0, 1.0: -1.5})
    verdict, (decided, why) = _judge_xz2(ok)
    assert decided == "reproduced" and why == ""
    # A treated alpha that decays slower than its bound: not reproduced.
    assert _judge_xz2(_oscillation({-0.5: 0.0, 0.5: -0.2}))[1][0] == "not reproduced"
    # The control converging like the treated arm: the test does not discriminate.
    verdict, (decided, why) = _judge_xz2(_oscillation({-0.5: -1.0, 0.5: -1.0}))
    assert decided == "inconclusive" and "does not discriminate" in why
    # The control collapsing to 0: degenerate.
    verdict, (decided, why) = _judge_xz2(pd.concat([_oscillation({0.5: -1.0}),
                                                    _oscillation({-0.5: 0.0}, ratio=1e-9)]))
    assert decided == "inconclusive" and "degenerate" in why
    # A broken law on the treated arm (fast, then flat): R4 says not reproduced.
    broken = _oscillation({-0.5: 0.0, 0.5: -1.0}, noise=0.0)
    late = (broken.alpha == 0.5) & (broken.D > 512)
    broken.loc[late, "osc"] = 512.0**-1.0 * (broken.loc[late, "D"] / 512) ** -0.05
    measures, laws = xz2_measures(oscillation_slopes(broken, "alpha"), broken, 0.1, 0.25)
    assert laws[0.5].startswith("no single power law over 128..4096") and judged(measures, "quick") == "not reproduced"




def test_xz5_arms_break_a_necessary_condition_and_do_not_converge():
    """Known answers: a 3-cycle limit of W(n) keeps the outputs cycling; a bias drift moves them
    on at a constant rate (osc(D) rises to 1/2); the same sequence without either converges."""
    from deeplimits.analysis.xu_zhang import xz5_sequence

    gen = torch.Generator().manual_seed(3)
    width, depth, grid = 8, 1024, [64, 128, 256, 512, 1024]
    x = torch.rand(16, width, generator=gen, dtype=torch.float64)
    scale = float(x.norm(dim=1).max())

    def slope_and_ratio(ws, bs):
        osc, ratio, _ = xz2_sequence_oscillation(ws, bs, x, grid)
        return np.polyfit(np.log(grid), np.log([osc[d] for d in grid]), 1)[0], ratio, osc

    cycle, ratio, _ = slope_and_ratio(*xz5_sequence("cycle", depth, width, gen, 1.0, 0.02, scale))
    assert abs(cycle) < 0.1 and 0.1 < ratio < 10
    drift, ratio, osc = slope_and_ratio(*xz5_sequence("drift", depth, width, gen, 1.0, 0.02, scale))
    # y(n) ~ x + n b0: osc(D) = (D/2) ||b0|| / ||x + D b0|| rises towards 1/2, it never decays.
    assert drift > -0.1 and 0.1 < osc[64] < osc[1024] <= 0.5 and ratio < 1e3
    ws, bs = _sequence_pair(depth, width, gen)
    converging, _, _ = slope_and_ratio(ws, bs)
    assert converging < -0.5
    with pytest.raises(ValueError, match="unknown XZ.5 arm"):
        xz5_sequence("spiral", depth, width, gen, 1.0, 0.02, scale)


def _sequence_pair(depth, width, gen):
    w, b = convergent_layers(depth, width, 1.0, gen, dtype=torch.float64)
    return list(w), list(b)


def test_xz5_entry_at_smoke_size_judges_its_arms_against_xz2s(tmp_path, repo):
    from deeplimits.analysis.xu_zhang import xz5
    from deeplimits.config import load_config

    settings = load_config(repo / "config.yaml", {"scale": "smoke"})["experiments"]["xz5"]
    xz2_slopes = tmp_path / "xz2.csv"
    pd.DataFrame([{"alpha": a, "sequence": s, "slope": k, "output_ratio": 2.0}
                  for a, k in ((1.0, -1.5), (0.0, -0.5)) for s in range(5)]).to_csv(xz2_slopes, index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("claim", "json"), ("oscillation", "csv"),
                                                              ("slopes", "csv"))}
    result = xz5(settings, {"xz2_slopes": str(xz2_slopes)}, outputs, scale="smoke", seed=0)
    slopes = result["slopes"].groupby("arm").slope.mean()
    assert set(slopes.index) == {"cycle", "drift"} and (slopes > -0.1).all()
    import json

    claim = json.loads(open(outputs["claim"]).read())
    assert claim["verdict"] in ("reproduced", "inconclusive")  # two sequences per arm at smoke
    assert "control: osc slope XZ.2 alpha=1" in claim["interval"]


def test_xz5_runs_on_xz2s_grid_and_width_at_every_scale(repo):
    from deeplimits.config import load_config

    for scale in ("smoke", "quick", "paper"):
        exp = load_config(repo / "config.yaml", {"scale": scale})["experiments"]
        assert {k: exp["xz5"][k] for k in ("depth", "min_depth", "width", "n_inputs")} == \
            {k: exp["xz2"][k] for k in ("depth", "min_depth", "width", "n_inputs")}, scale


@pytest.mark.parametrize("values, shape", [
    (np.linspace(3.0, 1.0, 30), "decreasing"),
    (np.linspace(1.0, 3.0, 30), "growing"),
    (np.r_[np.full(10, 3.16), np.full(10, 0.87), np.full(10, 1.92)], "U-shaped"),  # the review's D = 256 profile
    (np.full(30, 2.0) + 0.01 * np.sin(np.arange(30)), "flat"),
])
def test_xz3_profiles_are_worded_from_the_data(values, shape):
    from deeplimits.analysis.xu_zhang import profile_shape

    assert profile_shape(values) == shape


def test_xz2_per_layer_tables_keep_every_layer_when_short_and_a_log_and_linear_grid_when_long():
    from deeplimits.analysis.xu_zhang import figure_layers

    assert figure_layers(300).tolist() == list(range(1, 301))
    long = figure_layers(16384)
    assert long[0] == 1 and long[-1] == 16384 and len(long) <= 1000 and np.all(np.diff(long) > 0)
    # Both axes see the curve: the first ten layers all kept (log axis), no gap wider than 1/400 (linear axis).
    assert set(range(1, 11)) <= set(long.tolist()) and np.diff(long).max() <= 16384 / 400


def test_xz1_keeps_the_figures_depths_for_the_main_eps_and_the_judged_ones_for_the_rest(monkeypatch):
    import deeplimits.analysis.xu_zhang as xz

    settings = {"depth": 24, "width": 4, "alphas": [1.0], "control_alpha": -0.5, "n_segments": 1, "n_inputs": 2,
                "eps": 1e-4, "eps_choices": [1e-2]}
    # A figure grid coarser than every depth: the judged D/2 and D stay in it.
    monkeypatch.setattr(xz, "figure_layers", lambda depth, points=500: np.array([1, 5, 20]))
    _, pieces = xz.xz1_draws(settings, torch_generator(0, "xz1-test"))
    main, other = pieces[pieces.eps == 1e-4], pieces[pieces.eps == 1e-2]
    assert sorted(main.depth.unique()) == [0, 1, 5, 12, 20, 24]
    assert sorted(other.depth.unique()) == [12, 24]


def test_xz1_pieces_table_at_paper_scale_fits_a_snapshot(repo):
    """Rows per draw times draws at paper scale: about 66 bytes a row, so 30000 rows is 2 MB of
    the snapshot's 8 MB (at XZ.2's 500 points it was 70000 rows, 4.6 MB)."""
    from deeplimits.analysis.xu_zhang import XZ1_FIGURE_POINTS, figure_layers, xz1_arms
    from deeplimits.config import load_config

    settings = load_config(repo / "config.yaml", {"scale": "paper"})["experiments"]["xz1"]
    per_draw = len(figure_layers(settings["depth"], points=XZ1_FIGURE_POINTS)) + 2 * len(settings["eps_choices"])
    assert per_draw * settings["n_segments"] * len(xz1_arms(settings)) <= 30000
