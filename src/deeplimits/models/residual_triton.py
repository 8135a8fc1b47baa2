"""The fused residual stack h <- h + delta_k sigma(A_k h + b_k) on a GPU (Triton), forward
and backward, wrapped as a torch.autograd.Function: the GPU twin of residual_fused.

Why: at width 10-64 a layer's arithmetic takes a few microseconds on a GPU while eager
PyTorch spends about 50 us launching its kernels (about 11 us inside a CUDA graph). Here
one launch runs the whole stack: each program keeps one (seed, batch block) of h in
registers and walks the layers, reading A_k once per layer. The forward stores the L+1
states; the backward walks down again, recomputes each pre-activation from its stored
input and writes per-block partial gradients of A, b and delta (summed over batch blocks
afterwards, which keeps the result deterministic, unlike atomics).

Limits: float32 only (tl.dot in exact 'ieee' precision, not TF32), width up to
residual.TRITON_MAX_WIDTH (the layer's matrix must sit in registers). Wider or float64 stacks take
ResidualMLP's batched-matmul path. The kernels also run on a CPU under Triton's
interpreter (TRITON_INTERPRET=1), which is how the tests check them against autograd
on machines without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from .activations import ACT_CODES

# tl.dot needs every dimension to be at least 16.
MIN_BLOCK = 16


@triton.jit
def _tanh(z):
    """float32 tanh accurate to a few ulp for every z: near 0 the Cephes single-precision odd
    polynomial (1 - 2 / (exp(2z) + 1) loses every digit there: 1% off at |z| ~ 4e-5, 0 below
    3e-8, where CRX.4's small initial weights put z); elsewhere 1 - 2 / (exp(2z) + 1), finite
    for every z (exp overflows to inf -> 1)."""
    x2 = z * z
    poly = ((((-5.70498872745e-3 * x2 + 2.06390887954e-2) * x2 - 5.37397155531e-2) * x2
             + 1.33314422036e-1) * x2 - 3.33332819422e-1) * x2 * z + z
    return tl.where(tl.abs(z) < 0.625, poly, 1.0 - 2.0 / (tl.exp(2.0 * z) + 1.0))


@triton.jit
def _activation(z, ACT: tl.constexpr):
    if ACT == 0:
        return _tanh(z)
    elif ACT == 1:
        return tl.where(z > 0.0, z, 0.0)
    else:
        return z


@triton.jit
def _activation_grad(z, s, ACT: tl.constexpr):
    if ACT == 0:
        return 1.0 - s * s
    elif ACT == 1:
        return tl.where(z > 0.0, 1.0, 0.0)
    else:
        return z * 0.0 + 1.0


@triton.jit
def _tile(blk, B, D, BB: tl.constexpr, BD: tl.constexpr):
    """Offsets and masks of batch block `blk` of an (B, D) state and of a (D, D) matrix."""
    rows = blk * BB + tl.arange(0, BB)
    cols = tl.arange(0, BD)
    hoff = rows[:, None] * D + cols[None, :]
    hmask = (rows[:, None] < B) & (cols[None, :] < D)
    aoff = cols[:, None] * D + cols[None, :]
    amask = (cols[:, None] < D) & (cols[None, :] < D)
    return cols, hoff, hmask, aoff, amask


@triton.jit
def _forward_kernel(h0_ptr, a_ptr, b_ptr, delta_ptr, states_ptr, L, B, D,
                    ACT: tl.constexpr, BB: tl.constexpr, BD: tl.constexpr):
    s = tl.program_id(0)
    cols, hoff, hmask, aoff, amask = _tile(tl.program_id(1), B, D, BB, BD)
    h = tl.load(h0_ptr + s * B * D + hoff, mask=hmask, other=0.0)
    tl.store(states_ptr + s * (L + 1) * B * D + hoff, h, mask=hmask)
    for k in range(L):
        layer = s * L + k
        a = tl.load(a_ptr + layer * D * D + aoff, mask=amask, other=0.0)
        bias = tl.load(b_ptr + layer * D + cols, mask=cols < D, other=0.0)
        z = tl.dot(h, tl.trans(a), input_precision="ieee") + bias[None, :]
        h = h + tl.load(delta_ptr + layer) * _activation(z, ACT)
        tl.store(states_ptr + (s * (L + 1) + k + 1) * B * D + hoff, h, mask=hmask)


@triton.jit
def _backward_kernel(g_ptr, a_ptr, b_ptr, delta_ptr, states_ptr, gh0_ptr, ga_ptr, gb_ptr, gd_ptr,
                     L, B, D, NB, ACT: tl.constexpr, BB: tl.constexpr, BD: tl.constexpr):
    s = tl.program_id(0)
    blk = tl.program_id(1)
    cols, hoff, hmask, aoff, amask = _tile(blk, B, D, BB, BD)
    # Padded rows carry g = 0, so they add nothing to any gradient.
    g = tl.load(g_ptr + s * B * D + hoff, mask=hmask, other=0.0)
    for kk in range(L):
        k = L - 1 - kk
        layer = s * L + k
        part = (s * NB + blk) * L + k
        h = tl.load(states_ptr + (s * (L + 1) + k) * B * D + hoff, mask=hmask, other=0.0)
        a = tl.load(a_ptr + layer * D * D + aoff, mask=amask, other=0.0)
        bias = tl.load(b_ptr + layer * D + cols, mask=cols < D, other=0.0)
        z = tl.dot(h, tl.trans(a), input_precision="ieee") + bias[None, :]
        act = _activation(z, ACT)
        tl.store(gd_ptr + part, tl.sum(tl.sum(g * act, axis=1), axis=0))
        gz = g * tl.load(delta_ptr + layer) * _activation_grad(z, act, ACT)
        tl.store(ga_ptr + part * D * D + aoff, tl.dot(tl.trans(gz), h, input_precision="ieee"), mask=amask)
        tl.store(gb_ptr + part * D + cols, tl.sum(gz, axis=0), mask=cols < D)
        g = g + tl.dot(gz, a, input_precision="ieee")
    tl.store(gh0_ptr + s * B * D + hoff, g, mask=hmask)


def _blocks(batch: int, width: int) -> tuple[int, int, int]:
    bd = max(MIN_BLOCK, triton.next_power_of_2(width))
    # Keep a block of h near 4096 values: registers hold h, z, g and gz at once.
    bb = max(MIN_BLOCK, min(triton.next_power_of_2(batch), 4096 // bd))
    return bb, bd, triton.cdiv(batch, bb)


class TritonResidualStack(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h0, a, b, delta, code: int):
        h0, a, b, delta = (t.detach().contiguous() for t in (h0, a, b, delta))
        s_n, depth, width = a.shape[0], a.shape[1], a.shape[2]
        batch = h0.shape[1]
        bb, bd, nb = _blocks(batch, width)
        states = torch.empty(s_n, depth + 1, batch, width, device=h0.device, dtype=h0.dtype)
        _forward_kernel[(s_n, nb)](h0, a, b, delta, states, depth, batch, width, ACT=code, BB=bb, BD=bd)
        ctx.save_for_backward(a, b, delta, states)
        ctx.code = code
        return states[:, -1].clone()

    @staticmethod
    def backward(ctx, g_out):
        a, b, delta, states = ctx.saved_tensors
        s_n, depth, width = a.shape[0], a.shape[1], a.shape[2]
        batch = states.shape[2]
        bb, bd, nb = _blocks(batch, width)
        g_out = g_out.contiguous()
        gh0 = torch.empty_like(g_out)
        ga = torch.empty(s_n, nb, depth, width, width, device=a.device, dtype=a.dtype)
        gb = torch.empty(s_n, nb, depth, width, device=a.device, dtype=a.dtype)
        gd = torch.empty(s_n, nb, depth, device=a.device, dtype=a.dtype)
        _backward_kernel[(s_n, nb)](g_out, a, b, delta, states, gh0, ga, gb, gd, depth, batch, width, nb,
                                    ACT=ctx.code, BB=bb, BD=bd)
        return gh0, ga.sum(1), gb.sum(1), gd.sum(1), None


def triton_stack(h0, a, b, delta, activation: str):
    """h0 (S,B,d), a (S,L,d,d), b (S,L,d), delta (S,L) -> h_L (S,B,d), differentiable in all four."""
    return TritonResidualStack.apply(h0, a, b, delta, ACT_CODES[activation])
