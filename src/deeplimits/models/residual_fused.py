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

import numba
import numpy as np
import torch
from numba import njit, prange

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


@njit(inline="always", fastmath=FAST, error_model="numpy")
def _exp_neg(y):
    """exp(y) for y in [-2 * _TANH_SAT, 0], branch-free: 2^n comes from the bits of -n."""
    n = np.floor(y * _INV_LN2 + 0.5)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = _INV_FACT[13]
    for k in range(12, -1, -1):
        p = p * r + _INV_FACT[k]
    m = np.int64(-n)  # 0 .. 64
    return (p * (0.5 if m & 1 else 1.0) * (0.25 if m & 2 else 1.0) * (0.0625 if m & 4 else 1.0)
            * (2.0**-8 if m & 8 else 1.0) * (2.0**-16 if m & 16 else 1.0) * (2.0**-32 if m & 32 else 1.0)
            * (2.0**-64 if m & 64 else 1.0))


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


@njit(fastmath=FAST, error_model="numpy", cache=True)
def _forward_seed(s, h0t, a, b, delta, code, states, act):
    """Seed s: h0t (S,d,B), a (S,L,d,d), b (S,L,d), delta (S,L) -> fills states (S,L+1,d,B)
    with h_k^T and act (S,L,d,B) with v_k^T."""
    depth, d, batch = a.shape[1], a.shape[2], h0t.shape[2]
    states[s, 0] = h0t[s]
    z = np.empty(batch, dtype=h0t.dtype)
    zero = np.zeros(1, dtype=h0t.dtype)[0]  # typed constants: a literal 0 would promote to float64
    for k in range(depth):
        h, h_next, v = states[s, k], states[s, k + 1], act[s, k]
        step = delta[s, k]
        for i in range(d):
            z[:] = b[s, k, i]
            for j in range(d):
                a_ij = a[s, k, i, j]
                for t in range(batch):
                    z[t] += a_ij * h[j, t]
            # One loop per activation: a branch inside the loop would stop vectorisation.
            if code == 0:
                for t in range(batch):
                    v[i, t] = _tanh(np.float64(z[t]))
            elif code == 1:
                for t in range(batch):
                    v[i, t] = z[t] if z[t] > zero else zero
            else:
                v[i] = z
            for t in range(batch):
                h_next[i, t] = h[i, t] + step * v[i, t]


@njit(fastmath=FAST, error_model="numpy", cache=True)
def _backward_seed(s, g, states, act, a, delta, code, ga, gb, gd):
    """Seed s: g (S,d,B) holds dLoss/dh_L^T and is overwritten with dLoss/dh_0^T; fills ga,
    gb, gd."""
    depth, d, batch = a.shape[1], a.shape[2], g.shape[2]
    gs = g[s]
    gz = np.empty((d, batch), dtype=g.dtype)
    zero, one = np.zeros(1, dtype=g.dtype)[0], np.ones(1, dtype=g.dtype)[0]
    for k in range(depth - 1, -1, -1):
        h, v = states[s, k], act[s, k]
        step = delta[s, k]
        dot = zero
        for i in range(d):
            for t in range(batch):
                dot += gs[i, t] * v[i, t]
            if code == 0:
                for t in range(batch):
                    gz[i, t] = step * gs[i, t] * (one - v[i, t] * v[i, t])
            elif code == 1:
                for t in range(batch):
                    gz[i, t] = step * gs[i, t] if v[i, t] > zero else zero
            else:
                for t in range(batch):
                    gz[i, t] = step * gs[i, t]
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
# cores slowed each other down 30x (measured).
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


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


# Per-seed work (d * B * L) below which waking the thread pool costs more than it saves
# (measured at d = 10, B = 32, 3 seeds: L = 31 slower on 2 threads, L = 100 faster).
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
    narrow layer's time (measured). A forward takes a buffer (or allocates one); it comes
    back when the autograd graph that stores it is freed (_Stored), so a second backward
    through a retained graph (gradcheck does one) still finds its states."""

    KEEP = 2  # buffers kept per shape: a step's forward and, say, an evaluation's

    def __init__(self):
        self.free: dict[tuple, list[np.ndarray]] = {}

    def take(self, shape: tuple, dtype) -> np.ndarray:
        spare = self.free.get((shape, np.dtype(dtype)))
        return spare.pop() if spare else np.empty(shape, dtype=dtype)

    def give(self, *arrays: np.ndarray) -> None:
        for arr in arrays:
            spare = self.free.setdefault((arr.shape, arr.dtype), [])
            if len(spare) < self.KEEP:
                spare.append(arr)


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


class _Stored:
    """What backward reads; gives its buffers back to the pool when the graph drops it."""

    def __init__(self, states, act, code):
        self.states, self.act, self.code = states, act, code

    def __del__(self):
        _POOL.give(self.states, self.act)


class FusedResidualStack(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h0, a, b, delta, code: int):
        out, states, act = _run_forward(h0, a, b, delta, code)
        ctx.save_for_backward(a, delta)
        ctx.stored = _Stored(states, act, code)
        return out

    @staticmethod
    def backward(ctx, g_out):
        a, delta = ctx.saved_tensors
        stored = ctx.stored
        a_np, delta_np = _numpy(a), _numpy(delta)
        g = g_out.detach().transpose(1, 2).numpy().copy()  # one C-ordered copy, overwritten below
        ga, gb, gd = np.empty_like(a_np), np.empty(a_np.shape[:3], a_np.dtype), np.empty_like(delta_np)
        backward = _backward_parallel if _parallel(a_np.shape[0], stored.act[0].size) else _backward_each
        backward(g, stored.states, stored.act, a_np, delta_np, stored.code, ga, gb, gd)
        return (torch.from_numpy(g).transpose(1, 2), torch.from_numpy(ga), torch.from_numpy(gb),
                torch.from_numpy(gd), None)


def fused_stack(h0, a, b, delta, activation: str):
    code = ACT_CODES[activation]
    if torch.is_grad_enabled() and any(t.requires_grad for t in (h0, a, b, delta)):
        return FusedResidualStack.apply(h0, a, b, delta, code)
    out, states, act = _run_forward(h0, a, b, delta, code)  # nothing to differentiate
    _POOL.give(states, act)
    return out
