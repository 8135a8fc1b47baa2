"""The residual stack on batched matmuls, for CPU layers too wide for the fused numba stack
(residual.numba_wins), wrapped as a torch.autograd.Function.

All S seeds at once, layer k = 0..L-1, states h_k (S, B, d):

    z = h_k A_k^T + b_k                              torch.bmm (baddbmm with a bias)
    v_k = sigma(z),  h_{k+1} = h_k + delta_k v_k     one numba pass (activate_step)

Backward, from g = dLoss/dh_L down to dLoss/dh_0, with sigma' read from v_k
(tanh' = 1 - v^2, relu' = [v > 0]):

    dLoss/ddelta_k = <g, v_k>,   t = delta_k g sigma'(z)   (one numba pass, activation_grad_step)
    dLoss/dA_k = t^T h_k,   dLoss/db_k = sum over rows of t,   g <- g + t A_k  (in-place baddbmm)

Why not autograd over the plain loop: at d = 64, B = 1024, one layer's torch.tanh takes
longer than its matmul (bench/cpu_crossover.py times both stacks), and autograd
adds three elementwise passes each way and fresh 2 MB tensors per op. Here each direction
has one elementwise pass (the float32 tanh of residual_fused, within 2 ulp, for float32);
the states, activations and the per-layer gradient of A live in buffers reused from step
to step (residual_fused's pool). Evaluation (no grad) keeps two states, not L + 1.
ResidualMLP's plain path stays the reference this is tested against.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from .activations import ACT_CODES
from .residual_fused import _POOL, _numpy, activate_step, activation_grad_step


def _forward(h0, a, b, delta, code, store: bool):
    """Runs the stack. With store, returns (h_L, states (L+1, S, B, d), activations
    (L, S, B, d)) in pool buffers; without, only h_L (two states in turn)."""
    seeds, depth = a.shape[:2]
    shape = (seeds,) + tuple(h0.shape[1:])
    dtype = torch.empty(0, dtype=h0.dtype).numpy().dtype
    states = _POOL.take((depth + 1 if store else 2,) + shape, dtype)
    act = _POOL.take((depth if store else 1,) + shape, dtype)
    z = torch.empty(shape, dtype=h0.dtype)
    hs = torch.from_numpy(states)
    hs[0] = h0
    flat_h, flat_v = (arr.reshape(arr.shape[0], seeds, -1) for arr in (states, act))
    flat_z = z.numpy().reshape(seeds, -1)
    a_t = a.detach().transpose(2, 3)
    steps = _numpy(delta.t())  # (L, S): one contiguous row per layer
    for k in range(depth):
        here, there, v = (k, k + 1, k) if store else (k % 2, (k + 1) % 2, 0)
        if b is None:
            torch.bmm(hs[here], a_t[:, k], out=z)
        else:
            torch.baddbmm(b.detach()[:, k].unsqueeze(1), hs[here], a_t[:, k], out=z)
        activate_step(flat_z, flat_h[here], steps[k], code, flat_v[v], flat_h[there])
    out = hs[depth if store else depth % 2].clone()  # a copy, never a view: the buffers go back to the pool
    return (out, states, act) if store else out


class BmmResidualStack(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h0, a, b, delta, code: int):
        out, states, act = _forward(h0, a, b, delta, code, store=True)
        # Saved as tensors, so that autograd releases them (and the pool gets its buffers
        # back) as soon as backward is done with them.
        ctx.save_for_backward(a, delta, torch.from_numpy(states), torch.from_numpy(act))
        ctx.code = code
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g_out):
        a, delta, hs, vs = ctx.saved_tensors
        need_a, need_b, need_delta = ctx.needs_input_grad[1:4]
        seeds, depth, d = a.shape[:3]
        dtype = vs.numpy().dtype
        g = g_out.clone(memory_format=torch.contiguous_format)  # dLoss/dh_k, updated in place from k = L down to 0
        t = torch.empty_like(g)
        flat_g, flat_t, flat_v = g.numpy().reshape(seeds, -1), t.numpy().reshape(seeds, -1), vs.numpy().reshape(depth, seeds, -1)
        steps = _numpy(delta.t())  # (L, S)
        ga = torch.from_numpy(_POOL.take((depth, seeds, d, d), dtype)) if need_a else None
        gb = torch.empty((depth, seeds, d), dtype=a.dtype) if need_b else None
        gd = torch.empty((depth, seeds, 1, 1), dtype=a.dtype) if need_delta else None
        for k in range(depth - 1, -1, -1):
            if need_delta:
                torch.bmm(g.view(seeds, 1, -1), vs[k].view(seeds, -1, 1), out=gd[k])
            activation_grad_step(flat_g, flat_v[k], steps[k], ctx.code, flat_t)
            if need_a:
                torch.bmm(t.transpose(1, 2), hs[k], out=ga[k])
            if need_b:
                torch.sum(t, dim=1, out=gb[k])
            g.baddbmm_(t, a[:, k])
        # Copies in the parameters' (S, L, ...) layout; the pooled ga goes back.
        grad_a = ga.transpose(0, 1).contiguous() if need_a else None
        grad_b = gb.transpose(0, 1).contiguous() if need_b else None
        grad_delta = gd.view(depth, seeds).t() if need_delta else None
        return g, grad_a, grad_b, grad_delta, None


def bmm_stack(h0, a, b, delta, activation: str):
    """h_L of the stack; b is None for a stack without biases."""
    code = ACT_CODES[activation]
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (h0, a, b, delta)):
        return BmmResidualStack.apply(h0, a, b, delta, code)
    return _forward(h0, a, b, delta, code, store=False)
