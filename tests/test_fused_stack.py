"""The fused CPU stack (models/residual_fused.py) against the plain PyTorch path it replaces,
and its vectorisable tanh against libm's."""

import numpy as np
import pytest
import torch
from numba import njit

from deeplimits.models import ResidualMLP, residual_fused
from deeplimits.models.residual_fused import _POOL, FAST, _tanh
from deeplimits.seeding import torch_generator


@njit(fastmath=FAST, error_model="numpy")
def _tanh_all(x, out):
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


def test_tanh_is_within_two_ulp_of_libm_everywhere():
    x = np.concatenate([np.linspace(-30, 30, 600_001), np.geomspace(1e-310, 40, 20_000),
                        -np.geomspace(1e-310, 40, 20_000), [0.625, -0.625, 22.0, 1e300, -1e300]])
    out = np.empty_like(x)
    _tanh_all(x, out)
    ref = np.tanh(x)
    ulps = np.abs(out - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 2.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]}"


def test_tanh_keeps_nan_and_saturates_at_infinity():
    out = np.empty(3)
    _tanh_all(np.array([np.nan, np.inf, -np.inf]), out)
    assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == -1.0


def model_pair(activation, delta, dtype, seeds=3, dim=4, depth=9):
    model = ResidualMLP([torch_generator(0, "fused", i) for i in range(seeds)], dim=dim, depth=depth,
                        activation=activation, delta=delta, bias=True, trainable=("A", "b", "delta"),
                        init_std=1.0, bias_std=1.0, dtype=dtype)
    return model


def outputs_and_grads(model, x, fused):
    model.fused = fused
    for p in model.parameters():
        p.grad = None
    x = x.clone().requires_grad_(True)
    out = model(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out.detach(), x.grad] + [p.grad.clone() for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("delta", ["one", "inv", "inv_sqrt", "shared", "per_layer"])
def test_fused_stack_equals_the_pytorch_path(activation, delta, dtype, tol):
    model = model_pair(activation, delta, dtype)
    x = torch.randn(3, 7, 4, dtype=dtype, generator=torch.Generator().manual_seed(1))
    fused = outputs_and_grads(model, x, True)
    plain = outputs_and_grads(model, x, False)
    assert all(f.dtype == dtype for f in fused)
    for f, p in zip(fused, plain):
        assert torch.allclose(f, p, atol=tol, rtol=tol), (f - p).abs().max()


def test_seeds_in_parallel_equal_seeds_in_turn(monkeypatch):
    monkeypatch.setattr(residual_fused, "PARALLEL_MIN_WORK", 0)  # the parallel driver even for this small stack
    model = model_pair("tanh", "shared", torch.float64, seeds=4, dim=5, depth=30)
    x = torch.randn(4, 11, 5, dtype=torch.float64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = outputs_and_grads(model, x, True)
        torch.set_num_threads(2)
        two = outputs_and_grads(model, x, True)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


def test_reused_buffers_never_mix_two_pending_graphs():
    """Two forwards before their backwards, and an evaluation between them: each backward
    must read its own states (the pool hands a buffer to one graph at a time)."""
    model = model_pair("tanh", "per_layer", torch.float64)
    x1, x2 = (torch.randn(3, 7, 4, dtype=torch.float64) for _ in range(2))
    ref1, ref2 = (outputs_and_grads(model, x, False)[2] for x in (x1, x2))
    _POOL.free.clear()
    states_key = ((3, 10, 4, 7), np.dtype(np.float64))  # seeds, depth + 1, width, batch
    model.fused = True
    model.A.grad = None
    out1 = model(x1)
    out2 = model(x2)
    with torch.no_grad():
        model(x2 * 3)
    (out1 * torch.linspace(-1, 1, out1.numel(), dtype=out1.dtype).view_as(out1)).sum().backward()
    assert torch.allclose(model.A.grad, ref1, atol=1e-12)
    model.A.grad = None
    (out2 * torch.linspace(-1, 1, out2.numel(), dtype=out2.dtype).view_as(out2)).sum().backward()
    assert torch.allclose(model.A.grad, ref2, atol=1e-12)
    assert len(_POOL.free[states_key]) == 1  # only the evaluation's buffer is back
    del out1, out2
    assert len(_POOL.free[states_key]) == _POOL.KEEP  # the freed graphs gave theirs back


def test_a_non_finite_seed_stays_non_finite_and_alone():
    model = model_pair("tanh", "inv_sqrt", torch.float64)
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    x[1, 0, 0] = float("nan")
    model.fused = True
    out = model(x)
    assert torch.isnan(out[1, 0]).any() and torch.isfinite(out[0]).all() and torch.isfinite(out[2]).all()
