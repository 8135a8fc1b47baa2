"""HZ.1: one alpha's random-ResNet curve resumes after an interruption; the claim judges curves."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis import huang_zhang as hz
from deeplimits.analysis import hz_theory as T
from deeplimits.analysis.huang_zhang import (
    draws_words,
    hz1_measures,
    hz2_measures,
    hz3_measures,
    hz4_measures,
    judge_hz1,
    random_dense_blocks,
    stable_agreement_depth,
    trained_blocks,
)
from deeplimits.judges import decide_measures, judged
from deeplimits.models import HZResNet
from deeplimits.registry import Results
from deeplimits.seeding import torch_generator


def _curve(monkeypatch, checkpoint, key="k", fail_at=None, depth=12):
    calls = []
    real_block = hz.hz_block

    def counting_block(*args, **kwargs):
        calls.append(1)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt("simulated kill")
        return real_block(*args, **kwargs)

    monkeypatch.setattr(hz, "hz_block", counting_block)
    x0 = torch.rand(4, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(7)
    diffs = hz.random_increments(x0, depth, 0.2, gen, checkpoint=checkpoint, checkpoint_every=4,
                                 checkpoint_key=key)
    return diffs, len(calls)


def test_hz1_curve_resumes_from_its_checkpoint_with_the_same_values(monkeypatch, tmp_path):
    whole, n_calls = _curve(monkeypatch, None)
    assert n_calls == 12 and np.all(np.isfinite(whole)) and whole[-1] < whole[0]
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        _curve(monkeypatch, ckpt, fail_at=10)  # killed in block 10; the last checkpoint is block 8
    assert torch.load(ckpt, weights_only=True)["n"] == 8
    resumed, n_calls = _curve(monkeypatch, ckpt)
    assert n_calls == 4  # blocks 9..12 only
    np.testing.assert_array_equal(resumed, whole)


def test_hz1_checkpoint_of_other_settings_is_not_resumed(monkeypatch, tmp_path):
    whole, _ = _curve(monkeypatch, None)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        _curve(monkeypatch, ckpt, key="other", fail_at=10)
    again, n_calls = _curve(monkeypatch, ckpt, key="k")
    assert n_calls == 12
    np.testing.assert_array_equal(again, whole)


def _increments(tmp_path, alpha, slope, inputs):
    n = np.arange(1, 501)
    path = tmp_path / f"a{alpha:g}.csv"
    pd.DataFrame({"alpha": alpha, "n": n, "diff": 3.0 * n**slope, "source": "this run",
                  "inputs": inputs}).to_csv(path, index=False)
    return path


SETTINGS = {"fit_from": 10, "tolerance": 0.05, "reference_alpha": 0.2}


def test_hz1_claim_judges_every_alpha_and_sets_the_authors_values_beside_ours(repo, tmp_path):
    ref = repo / "reference" / "huang_zhang_random_resnet_increments.csv"
    authors = "1000x128x32x32"
    files = [_increments(tmp_path, 0.2, -1.2, authors), _increments(tmp_path, 0.5, -1.5, authors)]
    out = Results(tmp_path / "all").outputs("hz1")
    result = hz.hz1(SETTINGS, {"increments": files, "reference": ref}, out, scale="paper")
    claim = json.loads(out["claim"].read_text())
    assert result["verdict"] == claim["verdict"] == "reproduced" and claim["label"] == ""
    assert claim["table"] == "slopes.csv" and claim["figure"] == "hz1_increments.png"
    assert set(claim["values"]["slopes"]) == {"0.2", "0.5"}
    points = claim["values"]["authors_points"]
    assert set(points) == {"1", "10", "100", "500"}
    assert points["1"]["authors"] == pytest.approx(3.1854) and points["1"]["ours"] == pytest.approx(3.0)
    assert "authors 3.19" in claim["measured"]

    # One alpha off its target fails the claim; other inputs than the authors' give no pointwise comparison.
    files = [_increments(tmp_path, 0.2, -1.2, "64x16x16x16"), _increments(tmp_path, 0.5, -1.3, "64x16x16x16")]
    out = Results(tmp_path / "small").outputs("hz1_reference_alpha")
    result = hz.hz1(SETTINGS, {"increments": files, "reference": ref}, out, scale="quick", label="some alphas")
    claim = json.loads(out["claim"].read_text())
    assert result["verdict"] == claim["verdict"] == "not reproduced"
    assert claim["values"]["authors_points"] == {} and claim["label"] == "some alphas"


# ------------------------------------------------------------------ judges on hand-made values
def _hand_curve(alpha, slope, noise=0.0, n_max=500):
    rng = np.random.default_rng(0)
    n = np.arange(1, n_max + 1)
    return pd.DataFrame({"alpha": alpha, "n": n, "diff": n**slope * np.exp(noise * rng.standard_normal(n.size))})


@pytest.mark.parametrize("slope, noise, expected", [
    (-1.2, 0.0, "reproduced"),       # exactly -(1 + alpha)
    (-1.23, 0.02, "reproduced"),     # inside +-0.05 with a narrow interval
    (-1.4, 0.02, "not reproduced"),  # outside
    (-1.25, 0.02, "inconclusive"),   # on the band edge
])
def test_judge_hz1(slope, noise, expected):
    measures, laws = hz1_measures(_hand_curve(0.2, slope, noise), fit_from=10, tol=0.05)
    assert judge_hz1(measures, "quick") == expected
    assert measures[0].method.startswith("OLS") and laws == {}  # a clean power law: R4 holds


def test_judge_hz1_needs_every_alpha():
    both = pd.concat([_hand_curve(0.2, -1.2), _hand_curve(0.5, -1.2)])  # alpha = 0.5 should decay like n^-1.5
    measures, _ = hz1_measures(both, 10, 0.05)
    assert [m.verdict for m in measures if m.name.startswith("slope")] == ["reproduced", "not reproduced"]


def test_hz1_fits_a_law_only_where_it_holds():
    # n^-1.2 up to n = 80, then n^-2: the whole-grid slope is a mix; the halves disagree (R4).
    bent = _hand_curve(0.2, -1.2)
    bent.loc[bent.n > 80, "diff"] = 80.0**-1.2 * (bent.n[bent.n > 80] / 80.0) ** -2.0
    measures, laws = hz1_measures(bent, fit_from=10, tol=0.05)
    assert "no single power law" in laws[0.2] and judge_hz1(measures, "quick") == "not reproduced"
    # Pointwise noise around n^-1.2 (fresh random blocks) is no broken law: the windows' means decay.
    measures, laws = hz1_measures(_hand_curve(0.2, -1.2, noise=0.02), fit_from=10, tol=0.05)
    assert laws == {} and [m.name for m in measures][1] == "local slopes differ alpha=0.2"


def test_hz2_says_when_it_is_one_run():
    assert draws_words(1, 0.0) == "one run, as the authors: no interval"
    assert draws_words(5, 0.31) == "sd 0.31 over 5 seeds"


def test_judge_hz2():
    sums = [1.0, 1.05, 0.98, 1.02, 1.0]
    ok = hz2_measures([92.1, 92.5, 92.3, 92.2, 92.4], sums, sums, 92.3, 1.5, 0.15)
    assert judged(ok, "paper", applies_at=("paper",)) == "reproduced"
    assert judged(ok, "quick", applies_at=("paper",)) == "not at this scale"
    low = hz2_measures([85.0, 86.0, 85.5, 85.2, 85.8], sums, sums, 92.3, 1.5, 0.15)
    assert judged(low, "paper") == "not reproduced"
    # Two seeds close together still give a wide Student-t interval (t(0.975, 1) = 12.7).
    assert hz2_measures([92.1, 92.5], sums[:2], sums[:2], 92.3, 1.5, 0.15)[0].verdict == "inconclusive"
    edge = hz2_measures([90.0, 91.5, 90.5, 91.0, 90.8], sums, sums, 92.3, 1.5, 0.15)  # straddles 90.8
    assert edge[0].verdict == "inconclusive" and judged(edge, "paper") == "inconclusive"


def test_judge_hz3():
    n_star = [0.4, 0.5, 0.45]
    assert judged(hz3_measures(1e-14, 0, n_star, 1e-10), "quick") == "reproduced"
    assert judged(hz3_measures(1e-14, 3, n_star, 1e-10), "quick") == "not reproduced"   # a violated bound
    assert judged(hz3_measures(1e-8, 0, n_star, 1e-10), "quick") == "not reproduced"    # explicit form off
    assert judged(hz3_measures(1e-10, 0, n_star, 1e-10), "quick") == "reproduced"       # exactly at the bound
    reported = hz3_measures(1e-14, 0, [1.0, 1.0, 0.9], 1e-10)[2]  # late agreement is reported, not failed
    assert reported.role == "reported" and reported.value == pytest.approx(0.9667, abs=1e-4)


@pytest.mark.parametrize("agreement, expected", [
    ([0.5, 0.995, 0.98, 0.999, 1.0], 3),   # the dip at n = 2 counts: from 3 on it stays
    ([0.995, 0.999, 1.0], 0),              # agrees from the start
    ([0.2, 0.5, 0.9, 1.0], 3),             # only the full network
])
def test_stable_agreement_depth(agreement, expected):
    assert stable_agreement_depth(pd.Series(agreement, index=range(len(agreement)))) == expected


HZ4_SETTINGS = {"alphas": [1.0, -0.5, 0.0], "treated_alpha": 1.0, "control_alpha": -0.5, "converged_slope": 0.5,
                "no_decay_slope": 0.1, "law_tolerance": 0.25}


def _gaps(slope, ratio=2.0, depths=(8, 16, 32, 64), seeds=5, noise=0.02):
    """g(D) = D^slope[alpha] per seed, times a seeded jitter; output ratios `ratio`."""
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"alpha": a, "depth": d, "seed": s, "gap": float(d ** k * np.exp(rng.normal(0, noise))),
                          "gap_at_init": float(d ** -0.1), "output_ratio": ratio}
                         for a, k in slope.items() for d in depths for s in range(seeds)])


def _hz4_verdict(grid):
    """The verdict with R2's controls applied, as the table's judge gives it."""
    measures = hz4_measures(grid, HZ4_SETTINGS)[1]
    return decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])[0]


def test_judge_hz4_on_known_gaps():
    """Treated g ~ D^-1 and a flat control: reproduced. A flat treated arm: not reproduced. A
    control that decays like the treated one: the test does not discriminate. A control whose
    logits collapse: degenerate."""
    assert _hz4_verdict(_gaps({1.0: -1.0, -0.5: 0.0, 0.0: -0.3})) == "reproduced"
    assert _hz4_verdict(_gaps({1.0: 0.0, -0.5: 0.0, 0.0: -0.3})) == "not reproduced"
    assert _hz4_verdict(_gaps({1.0: -1.0, -0.5: -1.0, 0.0: -0.3})) == "inconclusive"
    assert _hz4_verdict(_gaps({1.0: -1.0, -0.5: 0.0, 0.0: -0.3}, ratio=1e-5)) == "inconclusive"
    slopes, _, _ = hz4_measures(_gaps({1.0: -1.0, -0.5: 0.0, 0.0: -0.3}, noise=0.0), HZ4_SETTINGS)
    per = slopes.set_index(["alpha", "seed"])
    assert np.allclose(per.slope.loc[1.0], -1.0) and np.allclose(per.slope_at_init, -0.1)
    assert dict(zip(slopes.alpha, slopes.role)) == {1.0: "treated", -0.5: "control", 0.0: "reported"}


def test_judge_hz4_names_a_broken_law():
    """g falls like D^-2 then stays flat: the mean slope is in the band, but R4 fails."""
    grid = _gaps({1.0: -1.0, -0.5: 0.0, 0.0: 0.0}, depths=(8, 16, 32, 64, 128))
    flat = grid.alpha.eq(1.0)
    grid.loc[flat, "gap"] = [min(d, 32) ** -2.0 for d in grid.loc[flat, "depth"]]
    assert _hz4_verdict(grid) == "not reproduced"
    assert "no single power law" in hz4_measures(grid, HZ4_SETTINGS)[2][1.0]


def test_hz4_roles_name_a_missing_alpha():
    with pytest.raises(ValueError, match="experiments.hz4.control_alpha"):
        hz.hz4_roles(dict(HZ4_SETTINGS, control_alpha=-0.25))


def test_half_depth_gap_is_zero_when_the_second_half_is_the_identity():
    """Blocks with zero kernels and biases act as the identity on relu outputs: f(D/2) = f(D)."""
    model = HZResNet(gens(3), (6,), 3, depth=8, width=5, block="dense").double()
    x = torch.rand(7, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gap, ratio = hz.half_depth_gap(model, x, chunk=3)
    assert gap.shape == (3,) and np.all(gap > 1e-6) and np.all(ratio > 0)
    with torch.no_grad():
        for v in (*model.V, *model.c):
            v[:, 4:] = 0
    gap, _ = hz.half_depth_gap(model, x, chunk=3)
    np.testing.assert_array_equal(gap, 0.0)


def test_hz4_entry_on_trained_cells(tmp_path):
    """HZ.4's analysis on real (tiny) trained cells: the trained gap is the one of the loaded
    network, the gap at initialisation is the one of the rebuilt initial weights (different),
    and the claim judges one measure per alpha."""
    from deeplimits.cells import load_cell_model, run_cell
    from deeplimits.data import load_prepared
    from deeplimits.data.prepare import prepare_dataset
    from deeplimits.experiments import alpha_variant
    from deeplimits.plan import Cell

    data = tmp_path / "digits.pt"
    prepare_dataset("digits", {}, 0, data)
    settings = {"seeds": 2, "width": 4, "epochs": 1, "batch_size": 256, "lr": 1e-2, "block": "dense",
                "branch_layers": 2, "milestones": [], "augment": False, "checkpoint_every": 1}
    cells = []
    for alpha in (1.0, -0.5):
        for depth in (2, 4, 8):
            out = tmp_path / "train" / alpha_variant(alpha) / f"D{depth}"
            run_cell(Cell("hz4", "digits", alpha_variant(alpha), depth), settings, data, out, root_seed=0,
                     show_progress=False)
            cells.append(str(out / "weights.pt"))
    outputs = {k: str(tmp_path / f"{k}.{'json' if k == 'claim' else 'csv'}") for k in ("claim", "grid", "curves", "slopes")}
    result = hz.hz4(dict(HZ4_SETTINGS, alphas=[1.0, -0.5], seeds=2, epochs=1), {"cells": cells, "data": str(data)},
                    outputs, scale="smoke", seed=0)
    grid = pd.read_csv(outputs["grid"]).set_index(["alpha", "depth", "seed"])
    prepared = load_prepared(data)
    model, _ = load_cell_model(tmp_path / "train" / alpha_variant(1.0) / "D8", prepared["meta"])
    direct, _ = hz.half_depth_gap(model.double(), prepared["x_test"])
    np.testing.assert_allclose(grid.loc[(1.0, 8)].gap.to_numpy(), direct, rtol=1e-9)
    assert not np.allclose(grid.gap, grid.gap_at_init)
    claim = json.loads(open(outputs["claim"]).read())
    assert claim["claim"] == "HZ.4" and set(result["slopes"].role) == {"treated", "control"}
    assert {m["name"] for m in claim["values"]["measures"]} >= {"gap slope alpha=1", "gap slope alpha=-0.5"}


# ------------------------------------------------------------------ the theorem's forms (hz_theory)
def gens(n, label="t"):
    return [torch_generator(0, label, i) for i in range(n)]


@pytest.mark.parametrize("branch_width", [6, 9])
def test_explicit_form_equals_forward_pass(branch_width):
    gen = torch_generator(0, "explicit")
    blocks = random_dense_blocks(25, 6, branch_width, 0.2, gen)
    y0 = torch.rand(5, 6, generator=gen, dtype=torch.float64)
    forward = T.forward_states(blocks, y0)[-1]
    explicit = T.explicit_output(blocks, y0)
    assert float((explicit - forward).norm() / forward.norm()) <= 1e-12


def test_explicit_form_detects_a_wrong_activation_pattern():
    gen = torch_generator(0, "explicit-neg")
    blocks = random_dense_blocks(5, 4, 4, 0.0, gen)
    y0 = torch.rand(3, 4, generator=gen, dtype=torch.float64)
    wrong = [([w * 1.5 for w in ws], bs) for ws, bs in blocks]
    assert float((T.explicit_output(wrong, y0) - T.forward_states(blocks, y0)[-1]).norm()) > 1e-3


def test_matrix_form_matches_the_model_and_conv_matrix_matches_conv():
    model = HZResNet(gens(1), (2, 5, 5), 3, depth=4, width=3, block="conv").double()
    with torch.no_grad():
        for c in model.c:
            c.uniform_(-1, 1)
    x = torch.rand(1, 4, 2, 5, 5, dtype=torch.float64)
    y0 = model.stem(x)
    y_model = model.blocks(y0)
    states = T.forward_states(trained_blocks(model, 0, 5), y0.flatten(1))
    assert torch.allclose(states[-1], y_model.flatten(1), atol=1e-12)


def test_bound_holds_and_a_too_small_norm_is_caught():
    gen = torch_generator(0, "bound")
    blocks = random_dense_blocks(30, 5, 7, 0.2, gen)
    y0 = torch.rand(16, 5, generator=gen, dtype=torch.float64)
    states = T.forward_states(blocks, y0)
    assert T.bound_check(blocks, states)["violations"] == 0
    # A "norm" that underestimates must produce violations: the check can fail.
    bad = T.bound_check(blocks, states, norm=lambda w: 0.01 * T.spectral_norm(w))
    assert bad["violations"] > 0


def test_partial_sums_on_a_hand_computed_case():
    # D = 2 blocks, k = 2 layers, 1x1 "kernels" (dense 1x1), alpha = 0.
    V = [torch.tensor([[[2.0]], [[3.0]]]), torch.tensor([[[5.0]], [[7.0]]])]
    c = [torch.tensor([[1.0], [-2.0]]), torch.tensor([[4.0], [0.5]])]
    ps = T.partial_sums(V, c, alpha=0.0, normaliser=1.0)
    # A: n=1: 2*5/1 = 10; n=2: 3*7/2 = 10.5
    assert ps["A"].tolist() == pytest.approx([10.0, 20.5])
    # B: n=1: s(1,2)*|c(1,1)|/1^1.5 + |c(1,2)|/1^1 = 5 + 4 = 9
    #    n=2: 7*2/2^1.5 + 0.5/2 = 4.9497... + 0.25
    assert ps["B"].tolist() == pytest.approx([9.0, 9.0 + 14 / 2**1.5 + 0.25])


def test_partial_sums_match_the_papers_exponents_for_alpha_02():
    V = [torch.ones(3, 1, 1), torch.ones(3, 1, 1)]
    c = [torch.ones(3, 1), torch.zeros(3, 1)]
    ps = T.partial_sums(V, c, alpha=0.2, normaliser=1.0)
    n = torch.arange(1, 4, dtype=torch.float64)
    assert ps["A"][-1] == pytest.approx(float((n**-1.2).sum()))
    assert ps["B"][-1] == pytest.approx(float((n**-1.8).sum()))


def test_conv_matrix_matches_conv2d():
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    x = torch.randn(2, 4, 4, dtype=torch.float64)
    m = T.conv_matrix(w, 4)
    direct = torch.nn.functional.conv2d(x.unsqueeze(0), w, padding=1)[0]
    assert torch.allclose(m @ x.flatten(), direct.flatten())
    assert math.isclose(m.shape[0], 3 * 16)


def test_hz5_arms_at_known_extremes():
    """Blocks scaled away (both exponents large) leave y(n) fixed after the first blocks: osc
    decays fast; n^-0.5 blocks (neither series summable) keep the outputs moving."""
    from deeplimits.analysis.huang_zhang import hz5_network_oscillation

    gen = torch.Generator().manual_seed(5)
    x = torch.rand(16, 8, generator=gen, dtype=torch.float64)
    grid = [32, 64, 128, 256, 512]

    def slope(w_exp, c_exp):
        osc, ratio = hz5_network_oscillation(x, 512, 8, w_exp, c_exp, gen, grid)
        return np.polyfit(np.log(grid), np.log([osc[d] for d in grid]), 1)[0], ratio

    fast, ratio = slope(4.0, 4.0)
    assert fast < -2.5 and 0.5 < ratio < 2          # the tail of n^-4 decays like D^-3
    flat, ratio = slope(0.5, 0.5)
    assert flat > -0.2 and 1e-3 < ratio < 1e3


def test_hz5_entry_at_smoke_size(tmp_path, repo):
    import json

    from deeplimits.analysis.huang_zhang import hz5
    from deeplimits.config import load_config

    settings = load_config(repo / "config.yaml", {"scale": "smoke"})["experiments"]["hz5"]
    outputs = {k: str(tmp_path / f"{k}.{e}") for k, e in (("claim", "json"), ("oscillation", "csv"), ("slopes", "csv"))}
    slopes = hz5(settings, {}, outputs, scale="smoke", seed=0)["slopes"].groupby("arm", sort=False).slope.mean()
    assert list(slopes.index) == ["both summable", "biases not summable", "weights not summable",
                                  "neither (alpha = -0.5)"]
    assert slopes["both summable"] < slopes["neither (alpha = -0.5)"]
    claim = json.loads(open(outputs["claim"]).read())
    roles = {m["name"]: m["role"] for m in claim["values"]["measures"]}
    assert roles["osc slope both summable"] == "treated" and roles["osc slope neither (alpha = -0.5)"] == "control"
    assert roles["osc slope biases not summable"] == "reported"


def test_hz1_with_several_networks_takes_its_interval_over_their_slopes():
    # Five networks whose slopes are -1.18, -1.19, ..., -1.22: the interval is over these five.
    nets = pd.concat([_hand_curve(0.2, -1.2 + 0.01 * (k - 2)).assign(network=k) for k in range(5)])
    m = hz1_measures(nets, fit_from=10, tol=0.05)[0][0]
    assert m.method.startswith("Student-t") and "per-network slopes" in m.method and "n = 5" in m.method
    assert m.value == pytest.approx(-1.2) and m.lo < -1.2 < m.hi and m.verdict == "reproduced"
    spread = pd.concat([_hand_curve(0.2, -1.2 + 0.05 * (k - 2)).assign(network=k) for k in range(5)])
    assert hz1_measures(spread, fit_from=10, tol=0.05)[0][0].verdict == "inconclusive"


def test_hz1_increments_job_draws_independent_networks_and_resumes_finished_ones(tmp_path, monkeypatch, caplog):
    """Two networks per alpha: different curves, the first equal to the one-network design's;
    a rerun after the job stopped between networks does not compute the finished one again."""
    from deeplimits.data.prepare import prepare_dataset

    data = tmp_path / "random_images.pt"
    prepare_dataset("random_images", {"random_images": {"n": 4, "channels": 2, "size": 4}}, 0, data)
    settings = {"alpha": 0.2, "depth": 12, "dtype": "float64", "checkpoint_every": 4, "networks": 2}
    out = {"increments": str(tmp_path / "a0.2" / "increments.csv")}
    frame = hz.hz1_increments(settings, {"data": str(data)}, out, scale="smoke", seed=0)
    one = hz.hz1_increments({**settings, "networks": 1}, {"data": str(data)},
                            {"increments": str(tmp_path / "one" / "increments.csv")}, scale="smoke", seed=0)
    first, second = (frame[frame.network == k]["diff"].to_numpy() for k in (0, 1))
    assert np.array_equal(first, one["diff"].to_numpy()) and not np.allclose(first, second)
    assert not list((tmp_path / "a0.2").glob("checkpoint*.pt"))  # a finished job leaves none
    # Stopped while drawing the second network: the first one's result waits in its checkpoint.
    real = hz.random_increments

    def stop_at_second(*args, checkpoint, **kwargs):
        if "network1" in str(checkpoint):
            raise KeyboardInterrupt
        return real(*args, checkpoint=checkpoint, **kwargs)

    again = {"increments": str(tmp_path / "again" / "increments.csv")}
    monkeypatch.setattr(hz, "random_increments", stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        hz.hz1_increments(settings, {"data": str(data)}, again, scale="smoke", seed=0)
    assert (tmp_path / "again" / "checkpoint.pt").exists()
    monkeypatch.setattr(hz, "random_increments", real)
    with caplog.at_level("INFO", logger="deeplimits.analysis.huang_zhang"):
        resumed = hz.hz1_increments(settings, {"data": str(data)}, again, scale="smoke", seed=0)
    assert "resuming HZ.1 alpha=0.2 at block 13 of 12" in caplog.text  # nothing left to compute
    pd.testing.assert_frame_equal(resumed, frame)
