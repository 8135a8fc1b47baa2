"""A fused forward and backward of the whole residual stack on the CPU (numba), wrapped as
a torch.autograd.Function.

For each seed s and layer k = 0..L-1, on a batch of B rows h (B, d):

    z_k = h_k A_k^T + b_k,   v_k = sigma(z_k),   h_{k+1} = h_k + delta_k v_k.

Backward, from g = dLoss/dh_L down to g = dLoss/dh_0:

    dLoss/ddelta_k = <g, v_k>,   gz = delta_k g * sigma'(z_k),
    dLoss/dA_k = gz^T h_k,   dLoss/db_k = sum over rows of gz,   g <- g + gz A_k.

Why fused: in the papers' narrow-deep regime (width 10-64, hundreds to thousands of
layers) PyTorch spends far more time dispatching a layer's few small ops than computing
them. How it stays near the arithmetic:
- The kernels work on the transposed states h^T (S, L+1, d, B), so every inner loop runs
  over the batch with unit stride and the compiler vectorises it.
- Forward stores the states h_k and the activations v_k (not z_k): tanh' = 1 - v^2 and
  relu' = [v > 0] come from v, so backward evaluates no tanh.
- tanh is the branch-free `_tanh` below, because numba calls the scalar libm tanh
  otherwise (no vector math library here), which would cost more than the layer's
  multiply-adds. It is within 2 ulp of libm in float64 (tested over its whole range).
- No per-layer arrays (the states buffers are reused across steps), seeds run in
  parallel (prange) on as many threads as torch is given, and `error_model="numpy"` drops the
  division-by-zero checks that would stop vectorisation.
ResidualMLP's plain PyTorch path stays the reference this is tested against (outputs and
gradients equal to autograd's to 1e-12 in float64).
"""

from __future__ import annotations

import weakref

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload

from .activations import ACT_CODES

# Reassociation lets sums over the batch vectorise; no "nnan"/"ninf", so a diverging seed
# still shows NaN and inf (the trainer drops it).
FAST = {"nsz", "arcp", "contract", "reassoc"}

# tanh on |x| < 0.625: x + x z P(z) / Q(z), z = x^2 (the Cephes rational approximation).
_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
# exp(y) = 2^n exp(r), y = n ln 2 + r, ln 2 split in two so that r is exact to double precision.
_LN2_HI, _LN2_LO, _INV_LN2 = 6.93147180369123816490e-01, 1.90821492927058770002e-10, 1.44269504088896338700e00
# 1/k! for the Taylor series of exp(r), |r| <= ln2/2: the degree-13 remainder is < 1e-17.
_INV_FACT = tuple(1.0 / float(np.prod(np.arange(1, k + 1), dtype=np.float64)) for k in range(14))
# Past |x| = 22, tanh(x) rounds to +-1 in double precision.
_TANH_SAT = 22.0


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose bit pattern is the int64 `bits` (LLVM bitcast, vectorisable)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _exp_neg(y):
    """exp(y) for y in [-2 * _TANH_SAT, 0], branch-free: 2^n is built from its exponent bits."""
    n = np.floor(y * _INV_LN2 + 0.5)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = _INV_FACT[13]
    for k in range(12, -1, -1):
        p = p * r + _INV_FACT[k]
    return p * _float64_from_bits((np.int64(n) + np.int64(1023)) << np.int64(52))  # n >= -64: a normal number


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _tanh(x):
    """tanh in float64, vectorisable: the rational form near 0, (1 - e)/(1 + e) with
    e = exp(-2|x|) elsewhere; NaN stays NaN."""
    ax = abs(x)
    z = x * x
    near_zero = x + x * z * (((_P[0] * z + _P[1]) * z + _P[2]) / (((z + _Q[0]) * z + _Q[1]) * z + _Q[2]))
    capped = _TANH_SAT if ax > _TANH_SAT else ax
    e = _exp_neg(-2.0 * capped if capped == capped else 0.0)
    far = (1.0 - e) / (1.0 + e)
    out = near_zero if ax < 0.625 else (far if x >= 0 else -far)
    return out if x == x else x


# float32 tanh, computed in float32 (16 lanes, lower degrees; faster than the float64
# version, see bench/train_throughput.py): the Cephes single-precision coefficients, odd polynomial near 0 and
# exp(-2|x|) elsewhere. Past |x| = 9, tanh(x) rounds to +-1 in float32.
_F32 = np.float32
_P32 = tuple(_F32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
                                -3.33332819422e-1))
_E32 = tuple(_F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                1.6666665459e-1, 5.0000001201e-1))
_LN2_HI32, _LN2_LO32, _INV_LN2_32 = _F32(0.693359375), _F32(-2.12194440e-4), _F32(1.44269504088896341)
_ONE32, _HALF32, _TWO32, _ZERO32 = _F32(1.0), _F32(0.5), _F32(2.0), _F32(0.0)
_NEAR32, _TANH_SAT32 = _F32(0.625), _F32(9.0)


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _exp_neg32(y):
    """exp(y) for float32 y in [-2 * _TANH_SAT32, 0], branch-free like _exp_neg."""
    n = np.floor(y * _INV_LN2_32 + _HALF32)
    r = (y - n * _LN2_HI32) - n * _LN2_LO32
    p = (((((_E32[0] * r + _E32[1]) * r + _E32[2]) * r + _E32[3]) * r + _E32[4]) * r + _E32[5]) * r * r + r + _ONE32
    return p * _float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))  # n >= -26


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _tanh32(x):
    """tanh of a float32, in float32, vectorisable; NaN stays NaN."""
    ax = abs(x)
    z = x * x
    near_zero = ((((_P32[0] * z + _P32[1]) * z + _P32[2]) * z + _P32[3]) * z + _P32[4]) * z * x + x
    capped = _TANH_SAT32 if ax > _TANH_SAT32 else ax
    e = _exp_neg32(-_TWO32 * capped if capped == capped else _ZERO32)
    far = (_ONE32 - e) / (_ONE32 + e)
    out = near_zero if ax < _NEAR32 else (far if x >= _ZERO32 else -far)
    return out if x == x else x


def tanh_of(x):
    """tanh in the precision of x: _tanh32 for float32, _tanh otherwise (numba only)."""
    raise NotImplementedError("tanh_of is compiled by numba; use torch.tanh in Python")


@overload(tanh_of, inline="always")
def _tanh_of_typed(x):
    if x == types.float32:
        return lambda x: _tanh32(x)
    return lambda x: _tanh(np.float64(x))


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _activate(z, v, code):
    """v = sigma(z) along one row. One loop per activation: a branch inside the loop would
    stop vectorisation."""
    zero = np.zeros(1, dtype=z.dtype)[0]  # typed constants: a literal 0 would promote to float64
    if code == 0:
        for t in range(z.shape[0]):
            v[t] = tanh_of(z[t])
    elif code == 1:
        for t in range(z.shape[0]):
            v[t] = z[t] if z[t] > zero else zero
    else:
        v[:] = z


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _activation_grad(g, v, step, code, out):
    """out = step g sigma'(z) along one row, from v = sigma(z): tanh' = 1 - v^2, relu' = [v > 0]."""
    zero, one = np.zeros(1, dtype=g.dtype)[0], np.ones(1, dtype=g.dtype)[0]
    if code == 0:
        for t in range(g.shape[0]):
            out[t] = step * g[t] * (one - v[t] * v[t])
    elif code == 1:
        for t in range(g.shape[0]):
            out[t] = step * g[t] if v[t] > zero else zero
    else:
        for t in range(g.shape[0]):
            out[t] = step * g[t]


@njit(fastmath=FAST, error_model="numpy", cache=True)
def _forward_seed(s, h0t, a, b, delta, code, states, act):
    """Seed s: h0t (S,d,B), a (S,L,d,d), b (S,L,d), delta (S,L) -> fills states (S,L+1,d,B)
    with h_k^T and act (S,L,d,B) with v_k^T."""
    depth, d, batch = a.shape[1], a.shape[2], h0t.shape[2]
    states[s, 0] = h0t[s]
    z = np.empty(batch, dtype=h0t.dtype)
    for k in range(depth):
        h, h_next, v = states[s, k], states[s, k + 1], act[s, k]
        step = delta[s, k]
        for i in range(d):
            z[:] = b[s, k, i]
            for j in range(d):
                a_ij = a[s, k, i, j]
                for t in range(batch):
                    z[t] += a_ij * h[j, t]
            _activate(z, v[i], code)
            for t in range(batch):
                h_next[i, t] = h[i, t] + step * v[i, t]


@njit(fastmath=FAST, error_model="numpy", cache=True)
def _backward_seed(s, g, states, act, a, delta, code, ga, gb, gd):
    """Seed s: g (S,d,B) holds dLoss/dh_L^T and is overwritten with dLoss/dh_0^T; fills ga,
    gb, gd."""
    depth, d, batch = a.shape[1], a.shape[2], g.shape[2]
    gs = g[s]
    gz = np.empty((d, batch), dtype=g.dtype)
    zero = np.zeros(1, dtype=g.dtype)[0]
    for k in range(depth - 1, -1, -1):
        h, v = states[s, k], act[s, k]
        step = delta[s, k]
        dot = zero
        for i in range(d):
            for t in range(batch):
                dot += gs[i, t] * v[i, t]
            _activation_grad(gs[i], v[i], step, code, gz[i])
        gd[s, k] = dot
        for i in range(d):
            gb[s, k, i] = gz[i].sum()
            for j in range(d):
                acc = zero
                for t in range(batch):
                    acc += gz[i, t] * h[j, t]
                ga[s, k, i, j] = acc
        for i in range(d):
            for j in range(d):
                a_ij = a[s, k, i, j]
                for t in range(batch):
                    gs[j, t] += a_ij * gz[i, t]


# Seeds one after the other, or in parallel (prange). A job with one thread takes the
# serial driver: the parallel one keeps its thread pool awake, and two such jobs on two
# cores slow each other down many times over.
@njit(cache=True)
def _forward_each(h0t, a, b, delta, code, states, act):
    for s in range(a.shape[0]):
        _forward_seed(s, h0t, a, b, delta, code, states, act)


@njit(parallel=True, cache=True)
def _forward_parallel(h0t, a, b, delta, code, states, act):
    for s in prange(a.shape[0]):
        _forward_seed(s, h0t, a, b, delta, code, states, act)


@njit(cache=True)
def _backward_each(g, states, act, a, delta, code, ga, gb, gd):
    for s in range(a.shape[0]):
        _backward_seed(s, g, states, act, a, delta, code, ga, gb, gd)


@njit(parallel=True, cache=True)
def _backward_parallel(g, states, act, a, delta, code, ga, gb, gd):
    for s in prange(a.shape[0]):
        _backward_seed(s, g, states, act, a, delta, code, ga, gb, gd)


@njit(fastmath=FAST, error_model="numpy", cache=True)
def activate_step(z, h, delta, code, v, h_next):
    """The elementwise half of a layer of the batched-matmul stack (residual_bmm), in one
    call on one thread: v = sigma(z), h_next = h + delta_s v. z, h, v, h_next: (S, n);
    delta: (S,). One thread, because numba's thread pool and torch's slow each other down
    (see the drivers above) and this pass runs between two of torch's matmuls."""
    for s in range(z.shape[0]):
        _activate(z[s], v[s], code)
        step = delta[s]
        hs, vs, outs = h[s], v[s], h_next[s]
        for t in range(hs.shape[0]):
            outs[t] = hs[t] + step * vs[t]


@njit(fastmath=FAST, error_model="numpy", cache=True)
def activation_grad_step(g, v, delta, code, t):
    """The elementwise half of a layer's backward in the batched-matmul stack:
    t = delta_s g sigma'(z), from v = sigma(z) (tanh' = 1 - v^2, relu' = [v > 0]).
    g, v, t: (S, n); delta: (S,). One thread, as activate_step."""
    for s in range(g.shape[0]):
        _activation_grad(g[s], v[s], delta[s], code, t[s])


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


# Per-seed work (d * B * L) below which waking the thread pool costs more than it saves
# (bench/train_throughput.py times both sides of it).
PARALLEL_MIN_WORK = 16_384


def _parallel(seeds: int, work: int) -> bool:
    """Whether the seeds run in parallel, on as many threads as torch may use (the CLI's
    --threads sets both)."""
    threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS, seeds)
    if work < PARALLEL_MIN_WORK or threads < 2:
        return False
    numba.set_num_threads(threads)
    return True


class _Pool:
    """Reuses the states and activations buffers from one training step to the next: fresh
    arrays of that size cost a page fault per 4 KiB on first touch, about a third of a
    narrow layer's time (measured). `take` hands out a view of a buffer; the buffer comes
    back when the view dies, i.e. when autograd releases the tensor saved on it (after a
    backward that does not retain the graph, or when the graph is dropped), so a second
    backward through a retained graph (gradcheck does one) still finds its states."""

    KEEP = 2  # buffers kept per shape: a step's forward and, say, an evaluation's

    def __init__(self):
        self.free: dict[tuple, list[np.ndarray]] = {}

    def take(self, shape: tuple, dtype) -> np.ndarray:
        spare = self.free.get((tuple(shape), np.dtype(dtype)))
        buffer = spare.pop() if spare else np.empty(shape, dtype=dtype)
        view = buffer[...]  # a new array object over the same memory, watched below
        weakref.finalize(view, self._give, buffer)
        return view

    def _give(self, buffer: np.ndarray) -> None:
        spare = self.free.setdefault((buffer.shape, buffer.dtype), [])
        if len(spare) < self.KEEP:
            spare.append(buffer)


_POOL = _Pool()


def _run_forward(h0, a, b, delta, code):
    h0t, a_np, b_np, delta_np = (_numpy(t) for t in (h0.transpose(1, 2), a, b, delta))
    s_n, depth, d = a_np.shape[:3]
    shape = (s_n, depth + 1, d, h0t.shape[2])
    states = _POOL.take(shape, h0t.dtype)
    act = _POOL.take((s_n, depth, d, h0t.shape[2]), h0t.dtype)
    forward = _forward_parallel if _parallel(s_n, states[0].size) else _forward_each
    forward(h0t, a_np, b_np, delta_np, code, states, act)
    # A copy, never a view: the buffers go back to the pool.
    out = torch.from_numpy(states[:, -1].transpose(0, 2, 1).copy())
    return out, states, act


class FusedResidualStack(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h0, a, b, delta, code: int):
        out, states, act = _run_forward(h0, a, b, delta, code)
        # Saved as tensors, so that autograd releases them (and the pool gets its buffers
        # back) as soon as backward is done with them.
        ctx.save_for_backward(a, delta, torch.from_numpy(states), torch.from_numpy(act))
        ctx.code = code
        return out

    @staticmethod
    def backward(ctx, g_out):
        a, delta, states, act = ctx.saved_tensors
        a_np, delta_np, states, act = _numpy(a), _numpy(delta), states.numpy(), act.numpy()
        g = g_out.detach().transpose(1, 2).numpy().copy()  # one C-ordered copy, overwritten below
        ga, gb, gd = np.empty_like(a_np), np.empty(a_np.shape[:3], a_np.dtype), np.empty_like(delta_np)
        backward = _backward_parallel if _parallel(a_np.shape[0], act[0].size) else _backward_each
        backward(g, states, act, a_np, delta_np, ctx.code, ga, gb, gd)
        return (torch.from_numpy(g).transpose(1, 2), torch.from_numpy(ga), torch.from_numpy(gb),
                torch.from_numpy(gd), None)


def fused_stack(h0, a, b, delta, activation: str):
    code = ACT_CODES[activation]
    if torch.is_grad_enabled() and any(t.requires_grad for t in (h0, a, b, delta)):
        return FusedResidualStack.apply(h0, a, b, delta, code)
    return _run_forward(h0, a, b, delta, code)[0]  # nothing to differentiate: the buffers go back
