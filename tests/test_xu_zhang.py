import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis import hz_theory as T
from deeplimits.analysis import relu_theory as R
from deeplimits.analysis.huang_zhang import random_conv_blocks
from deeplimits.analysis.xu_zhang import judge_xz4
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
    """Final accuracies {(init, depth): [per seed]} as the table xz34 builds."""
    return pd.DataFrame([{"init": i, "depth": d, "seed": s, "test_accuracy": a}
                         for (i, d), seeds in acc.items() for s, a in enumerate(seeds)])


def test_xz4_verdict_needs_a_rescued_depth_and_no_depth_lost():
    rescued = _finals({("he", 4): [0.9, 0.8], ("he", 16): [0.1, 0.3], ("he", 64): [0.05, 0.15],
                       ("convergent", 4): [0.9, 0.9], ("convergent", 16): [0.9, 0.9],
                       ("convergent", 64): [0.7, 0.5]})
    learns, he_fails, conv_fails, ok = judge_xz4(rescued, 0.1, 0.1)
    assert (he_fails, conv_fails, ok) == ([64], [], True)
    # He at depth 16 averages 0.2 = chance + margin: that counts as learning (>=).
    row = learns[(learns.init == "he") & (learns.depth == 16)].iloc[0]
    assert (row["min"], row["max"], row.learns) == (0.1, 0.3, True)
    lost = _finals({("he", 4): [0.9], ("he", 64): [0.1], ("convergent", 4): [0.1], ("convergent", 64): [0.9]})
    assert judge_xz4(lost, 0.1, 0.1)[1:] == ([64], [4], False)
    nothing_rescued = _finals({("he", 4): [0.9], ("convergent", 4): [0.9]})
    assert judge_xz4(nothing_rescued, 0.1, 0.1)[1:] == ([], [], False)
