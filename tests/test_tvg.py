import math

import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis.thorpe_van_gennip import (
    continuum_objective,
    profile_distances,
    richardson,
    tvg1_measures,
    tvg2_measures,
    tvg3_measures,
    tvg4_measures,
    tvg5_measures,
)
from deeplimits.judges import judged
from deeplimits.models.tvg import TvGParams, euler_forward, objective
from deeplimits.models.tvg_fused import FusedObjective
from deeplimits.profiles import on_grid as profile_on_grid
from deeplimits.profiles import resample as interpolate_profile


def test_discrete_h1_penalty_equals_the_integral_of_the_interpolant():
    rng = np.random.default_rng(0)
    n = 16
    k = torch.tensor(rng.normal(size=(n, 2, 2)))
    z = torch.zeros(n, 2, dtype=torch.float64)
    p = TvGParams(k, z, torch.zeros(2, 2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    discrete = float(objective(p, torch.zeros(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.long),
                               1.0, 0.0, 0.0)["h1"])
    # Integrate |K'|^2 of the piecewise-linear profile numerically on a very fine grid.
    grid = torch.linspace(0, 1, 200_001, dtype=torch.float64)
    values = profile_on_grid(k, grid).flatten(1)
    derivative = (values[1:] - values[:-1]) / (grid[1] - grid[0])
    integral = float((derivative.pow(2).sum(1) * (grid[1] - grid[0])).sum())
    assert integral == pytest.approx(discrete, rel=1e-4)


def test_euler_is_first_order_on_a_linear_ode():
    # x' = A x (identity activation, b = 0) has the solution expm(A) x.
    a = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    x = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    exact = x @ torch.linalg.matrix_exp(a).T
    errors = []
    for n in (16, 32, 64, 128):
        p = TvGParams(a.expand(n, 2, 2), torch.zeros(n, 2, dtype=torch.float64), None, None)
        errors.append(float((euler_forward(p, x, sigma=lambda z: z) - exact).norm()))
    orders = [math.log2(e1 / e2) for e1, e2 in zip(errors[:-1], errors[1:])]
    assert all(abs(o - 1) < 0.05 for o in orders)


def test_interpolation_between_depths_keeps_the_profile():
    k = torch.tensor([[0.0], [1.0], [4.0], [9.0]], dtype=torch.float64)  # nodes at 0, 1/4, 1/2, 3/4
    fine = interpolate_profile(k, 8)  # nodes at k/8
    assert fine.flatten().tolist() == pytest.approx([0, 0.5, 1, 2.5, 4, 6.5, 9, 9])
    grid = torch.arange(8, dtype=torch.float64) / 8
    assert torch.allclose(profile_on_grid(k, grid), fine)


def test_profile_distances_are_exact_for_a_linear_difference():
    n = 4
    k1 = torch.zeros(n, 1, 1, dtype=torch.float64)
    k2 = (torch.arange(2 * n, dtype=torch.float64) / (2 * n)).view(-1, 1, 1)  # K(t) = t on [0, 7/8]
    d = profile_distances(k1, torch.zeros(n, 1, dtype=torch.float64), k2, torch.zeros(2 * n, 1, dtype=torch.float64))
    # K(t) = t up to 7/8, then constant 7/8: int K^2 = (7/8)^3/3 + (7/8)^2/8, int K'^2 = 7/8.
    assert d["L2"] == pytest.approx(math.sqrt((7 / 8) ** 3 / 3 + (7 / 8) ** 2 / 8))
    assert d["H1"] == pytest.approx(math.sqrt(7 / 8))
    assert d["sup"] == pytest.approx(7 / 8)


def test_fused_objective_matches_autograd():
    rng = np.random.default_rng(1)
    n, d, c, p = 6, 3, 4, 9
    arrays = [rng.normal(size=s) for s in ((n, d, d), (n, d), (c, d), (c,))]
    x, y = rng.normal(size=(p, d)), rng.integers(0, c, p)
    for act, sigma in (("tanh", torch.tanh), ("relu", torch.relu)):
        fused = FusedObjective(n, d, c, x, y, 0.3, 0.2, 0.1, act)
        value, grad = fused(fused.flatten(arrays))
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        ref = objective(TvGParams(*ts), torch.tensor(x), torch.tensor(y), 0.3, 0.2, 0.1, sigma)["total"]
        ref.backward()
        assert value == pytest.approx(float(ref.detach()), rel=1e-12)
        assert np.allclose(grad, np.concatenate([t.grad.numpy().ravel() for t in ts]), atol=1e-12)


def test_continuum_penalties_are_exact_for_piecewise_linear_profiles():
    nodes = torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.float64)  # hat function on [0, 1]
    k = nodes.view(3, 1, 1)
    b = torch.zeros(3, 1, dtype=torch.float64)
    parts = continuum_objective(k, b, torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
                                torch.zeros(2, 1, dtype=torch.float64), torch.tensor([0, 1]), 1.0, 1.0, 0.0,
                                torch.tanh, substeps=2)
    assert float(parts["h1"]) == pytest.approx(4.0)      # |K'| = 2 on [0, 1]
    assert float(parts["l2"]) == pytest.approx(1 / 3)    # int of the hat squared


def test_richardson_on_a_first_order_sequence():
    ns = [8, 16, 32]
    values = [1 + 1 / n for n in ns]
    out = richardson(ns, values)
    assert out["order"] == pytest.approx(1.0)
    assert out["m_inf"] == pytest.approx(1.0)


def test_stratified_subsample_keeps_class_shares_and_is_seeded():
    from deeplimits.analysis.thorpe_van_gennip import stratified_subsample
    from deeplimits.seeding import torch_generator

    y = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    keep = stratified_subsample(y, 95, torch_generator(0, "s"))
    assert len(keep) == len(set(keep.tolist())) == 95
    counts = torch.bincount(y[keep]).tolist()
    assert all(c >= q for c, q in zip(counts, [57, 28, 9]))  # the shares 57, 28.5, 9.5 rounded down
    again = stratified_subsample(y, 95, torch_generator(0, "s"))
    other = stratified_subsample(y, 95, torch_generator(1, "s"))
    assert torch.equal(keep, again) and not torch.equal(keep, other)


def test_tvg_inputs_subsample_after_pca(tmp_path):
    from deeplimits.analysis.thorpe_van_gennip import load_inputs
    from deeplimits.data.prepare import prepare_dataset

    path = tmp_path / "digits.pt"
    prepare_dataset("digits", {"digits": {"test_fraction": 0.2}}, 0, path)
    x_all, y_all, classes = load_inputs(path, {"dim": 8, "n_points": None, "seed": 0})
    x, y, _ = load_inputs(path, {"dim": 8, "n_points": 200, "seed": 0})
    assert x_all.shape[1] == 8 and classes == 10 and x.shape == (200, 8)
    # The subsample is rows of the full PCA features (PCA fitted on every point).
    rows = (x[:, None, :] - x_all[None, :, :]).abs().amax(-1).min(1).values
    assert rows.max() < 1e-12
    assert torch.bincount(y, minlength=10).min() >= 17


def test_tvg_work_folder_discards_solutions_of_other_settings(tmp_path, caplog):
    from deeplimits.analysis.thorpe_van_gennip import _work_dir

    data = tmp_path / "data.pt"
    data.write_bytes(b"points")
    work = tmp_path / "work"
    settings = {"seed": 0, "dim": 2, "n_points": None, "depths": [4, 8], "a1": 1e-4, "a2": 1e-4, "a3": 1e-4,
                "activation": "tanh", "init_std": 1.0, "max_iter": 10, "cold_starts": 1, "continuum_nodes": 9}
    _work_dir(work, settings, data)
    (work / "cold0_N4.pt").write_bytes(b"solution")
    _work_dir(work, dict(settings, continuum_nodes=33), data)  # not a solve setting: kept
    assert (work / "cold0_N4.pt").exists()
    _work_dir(work, dict(settings, a1=0.0), data)
    assert not (work / "cold0_N4.pt").exists() and "discarding 1 solutions" in caplog.text
    (work / "cold0_N4.pt").write_bytes(b"solution")
    data.write_bytes(b"other points")
    _work_dir(work, dict(settings, a1=0.0), data)
    assert not (work / "cold0_N4.pt").exists()


# ------------------------------------------------------------------ judges on hand-made values
def test_judge_tvg1():
    ns = [4, 8, 16, 32, 64, 128]

    def verdict(minima):
        return judged(tvg1_measures(ns, minima, 0.5, 3), "quick")

    assert verdict([1 + 1 / n for n in ns]) == "reproduced"            # order exactly 1
    assert verdict([1 + 1 / n**3 for n in ns]) == "not reproduced"     # order 3
    # Orders 1.6, 1.3, 0.9 over the last doublings: deterministic, each judged; 1.6 is out.
    d = [0.5, 0.5 / 2**1.2, 0.5 / 2**2.8, 0.5 / 2**4.1, 0.5 / 2**5.0]
    minima = [1.0 + sum(d[i:]) for i in range(len(d))] + [1.0]
    measures = tvg1_measures(ns, minima, 0.5, 3)
    assert [m.name for m in measures[:3]] == ["order from N=8", "order from N=16", "order from N=32"]
    assert [round(m.value, 6) for m in measures[:3]] == [1.6, 1.3, 0.9]
    assert all(m.method == "deterministic" for m in measures) and judged(measures, "quick") == "not reproduced"
    bounce = [1 + 1 / n for n in ns[:-1]] + [1 + 1 / 8]                # |dm| grows again at the end
    assert tvg1_measures(ns, bounce, 0.5, 3)[-1].verdict == "not reproduced"


def _distances(chain, slope, noise=0.0):
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"chain": chain, "N": n, "L2": n**slope * np.exp(noise * rng.standard_normal()),
                          "sup": n**slope * np.exp(noise * rng.standard_normal()), "H1": 1.0}
                         for n in (4, 8, 16, 32, 64, 128)])


def test_judge_tvg2_tvg3_tvg4_tvg5():
    assert judged(tvg2_measures(_distances("warm", -1.0), 3, 0.5), "quick") == "reproduced"
    assert judged(tvg2_measures(_distances("warm", -0.1), 3, 0.5), "quick") == "not reproduced"
    # Deterministic solves: a slope is in or out of its band, never inconclusive.
    assert judged(tvg2_measures(_distances("warm", -0.6), 3, 0.5), "quick") == "reproduced"
    assert judged(tvg2_measures(_distances("warm", -0.5, noise=0.2), 3, 0.5), "quick") != "inconclusive"
    assert judged(tvg5_measures(_distances("cold0_a1=0", 0.0), 3, 0.25), "quick") == "reproduced"
    assert judged(tvg5_measures(_distances("cold0_a1=0", -1.0), 3, 0.25), "quick") == "not reproduced"
    euler = pd.DataFrame({"N": [8, 16, 32, 64], "error": [1 / 8, 1 / 16, 1 / 32, 1 / 64]})
    assert judged(tvg3_measures(euler, 0.5), "quick") == "reproduced"
    assert judged(tvg3_measures(euler.assign(error=euler.N.astype(float) ** -2.0), 0.5), "quick") == "not reproduced"
    wobbly = euler.assign(error=euler.error * np.array([1.0, 2.5, 0.4, 1.8]))  # a deterministic order: in or out
    assert tvg3_measures(wobbly, 0.5)[0].method == "deterministic"
    assert judged(tvg4_measures(1e-4, 1e-3, 0.01), "quick") == "reproduced"
    assert judged(tvg4_measures(0.02, 1e-3, 0.01), "quick") == "not reproduced"
    assert judged(tvg4_measures(0.01, 0.1, 0.01), "quick") == "reproduced"  # exactly at both tolerances
