"""The two CPU stacks, fused numba (models/residual_fused.py) and batched matmul
(models/residual_bmm.py), against the plain PyTorch path they replace; their buffer pool;
and the vectorisable tanh of both precisions against libm's."""

import numpy as np
import pytest
import torch
from numba import njit

from deeplimits.models import ResidualMLP, residual_fused
from deeplimits.models.residual_fused import _POOL, FAST, _tanh, _tanh32
from deeplimits.seeding import torch_generator


@njit(fastmath=FAST, error_model="numpy")
def _tanh_all(x, out):
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


@njit(fastmath=FAST, error_model="numpy")
def _tanh32_all(x, out):
    for i in range(x.shape[0]):
        out[i] = _tanh32(x[i])


def test_tanh_is_within_two_ulp_of_libm_everywhere():
    x = np.concatenate([np.linspace(-30, 30, 600_001), np.geomspace(1e-310, 40, 20_000),
                        -np.geomspace(1e-310, 40, 20_000), [0.625, -0.625, 22.0, 1e300, -1e300]])
    out = np.empty_like(x)
    _tanh_all(x, out)
    ref = np.tanh(x)
    ulps = np.abs(out - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 2.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]}"


def test_float32_tanh_is_within_two_ulp_of_the_exact_value():
    # Every 101st float32 from 0 to 12 (past the saturation at 9), both signs, and the ends.
    x = np.arange(0, 0x41400000, 101, dtype=np.uint32).view(np.float32)
    x = np.concatenate([x, -x, np.float32([0.625, -0.625, 9.0, 1.4e-45, 3e38, -3e38])])
    out = np.empty_like(x)
    _tanh32_all(x, out)
    assert out.dtype == np.float32
    ref = np.tanh(x.astype(np.float64))
    ulps = np.abs(out - ref) / np.spacing(np.abs(ref).astype(np.float32))
    assert ulps.max() <= 2.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]}"


@pytest.mark.parametrize("tanh_all,dtype", [(_tanh_all, np.float64), (_tanh32_all, np.float32)])
def test_tanh_keeps_nan_and_saturates_at_infinity(tanh_all, dtype):
    out = np.empty(3, dtype=dtype)
    tanh_all(np.array([np.nan, np.inf, -np.inf], dtype=dtype), out)
    assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == -1.0


def model_pair(activation, delta, dtype, seeds=3, dim=4, depth=9, bias=True):
    model = ResidualMLP([torch_generator(0, "fused", i) for i in range(seeds)], dim=dim, depth=depth,
                        activation=activation, delta=delta, bias=bias, trainable=("A", "b", "delta"),
                        init_std=1.0, bias_std=1.0, dtype=dtype)
    return model


@pytest.fixture(params=["numba", "bmm"])
def backend(request):
    """The CPU stack under test, and the `fused` setting that forces it on these small
    stacks ('auto' takes bmm where numba_wins says no: tests/test_triton_stack.py)."""
    return request.param, {"numba": True, "bmm": "bmm"}[request.param]


def outputs_and_grads(model, x, fused, backend=None):
    model.fused = fused
    for p in model.parameters():
        p.grad = None
    x = x.clone().requires_grad_(True)
    assert model.fused_backend(x) == backend
    out = model(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    with torch.no_grad():
        evaluated = model(x)
    return [out.detach(), evaluated, x.grad] + [p.grad.clone() for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("delta", ["one", "inv", "inv_sqrt", "shared", "per_layer"])
def test_cpu_stack_equals_the_pytorch_path(backend, activation, delta, dtype, tol):
    name, fused = backend
    model = model_pair(activation, delta, dtype)
    x = torch.randn(3, 7, 4, dtype=dtype, generator=torch.Generator().manual_seed(1))
    fast = outputs_and_grads(model, x, fused, name)
    plain = outputs_and_grads(model, x, False)
    assert len(fast) == len(plain) >= 5 and all(f.dtype == dtype for f in fast)  # out, evaluated, x, A, b(, delta)
    for f, p in zip(fast, plain):
        assert torch.allclose(f, p, atol=tol, rtol=tol), (f - p).abs().max()


@pytest.mark.parametrize("trainable", [("A",), ("b",), ("delta",), ("A", "b", "delta")])
def test_bmm_stack_without_bias_and_with_some_parameters_frozen(backend, trainable):
    name, fused = backend
    model = ResidualMLP([torch_generator(0, "fused", i) for i in range(2)], dim=5, depth=6, bias="b" in trainable,
                        delta="per_layer", trainable=trainable, init_std=1.0, bias_std=1.0, dtype=torch.float64)
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    fast = outputs_and_grads(model, x, fused, name)
    plain = outputs_and_grads(model, x, False)
    assert len(fast) == 3 + len(trainable)
    for f, p in zip(fast, plain):
        assert torch.allclose(f, p, atol=1e-12, rtol=1e-12)


def test_seeds_in_parallel_equal_seeds_in_turn(monkeypatch):
    monkeypatch.setattr(residual_fused, "PARALLEL_MIN_WORK", 0)  # the parallel driver even for this small stack
    model = model_pair("tanh", "shared", torch.float64, seeds=4, dim=5, depth=30)
    x = torch.randn(4, 11, 5, dtype=torch.float64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = outputs_and_grads(model, x, True, "numba")
        torch.set_num_threads(2)
        two = outputs_and_grads(model, x, True, "numba")
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


def _weighted_sum(out):
    return (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()


def _pooled(dim=4):
    """Pooled states and activations buffers; the bmm stack's (L, S, d, d) gradient buffer,
    taken and given back within one backward, is left out."""
    return sum(len(buffers) for (shape, _), buffers in _POOL.free.items() if shape[-2:] != (dim, dim))


def test_reused_buffers_never_mix_two_pending_graphs(backend, monkeypatch):
    """Two forwards before their backwards, an evaluation and a third forward between the
    backwards: each backward must read its own states (the pool hands a buffer to one graph
    at a time), and a buffer comes back as soon as its backward is done."""
    name, fused = backend
    monkeypatch.setattr(_POOL, "KEEP", 4)  # room for every buffer below, so that the counts are exact
    model = model_pair("tanh", "per_layer", torch.float64)
    x1, x2 = (torch.randn(3, 7, 4, dtype=torch.float64) for _ in range(2))
    ref1, ref2 = (outputs_and_grads(model, x, False)[3] for x in (x1, x2))
    _POOL.free.clear()
    model.fused = fused
    model.A.grad = None
    out1 = model(x1)
    out2 = model(x2)
    with torch.no_grad():
        model(x2 * 3)
    evaluated = _pooled()  # the evaluation's buffers are back at once
    assert evaluated >= 1
    _weighted_sum(out1).backward()
    assert torch.allclose(model.A.grad, ref1, atol=1e-12)
    assert _pooled() == evaluated + 2  # out1's states and activations, though out1 still lives
    out3 = model(x1 * 2)  # takes what out1 gave back
    assert _pooled() == evaluated
    model.A.grad = None
    _weighted_sum(out2).backward()
    assert torch.allclose(model.A.grad, ref2, atol=1e-12)
    assert _pooled() == evaluated + 2
    del out3  # a graph dropped without a backward gives its buffers back too
    assert _pooled() == evaluated + 4


def test_a_retained_graph_keeps_its_buffers(backend):
    """backward(retain_graph=True), other steps in between, then a second backward through
    the same graph: it must find its own states (as gradcheck's second backward does)."""
    name, fused = backend
    model = model_pair("tanh", "shared", torch.float64)
    model.fused = fused
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    out = model(x)
    _weighted_sum(out).backward(retain_graph=True)
    first = model.A.grad.clone()
    for _ in range(3):
        _weighted_sum(model(torch.randn(3, 7, 4, dtype=torch.float64))).backward()
    model.A.grad = None
    _weighted_sum(out).backward()
    assert torch.allclose(model.A.grad, first, atol=1e-14)


def test_a_non_finite_seed_stays_non_finite_and_alone(backend):
    name, fused = backend
    model = model_pair("tanh", "inv_sqrt", torch.float64)
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    x[1, 0, 0] = float("nan")
    model.fused = fused
    out = model(x)
    assert torch.isnan(out[1, 0]).any() and torch.isfinite(out[0]).all() and torch.isfinite(out[2]).all()
