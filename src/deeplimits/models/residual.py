"""Residual networks h <- h + delta * sigma(A h + b) (CRX, Cohen et al.): fully connected
(ResidualMLP) and convolutional (ResidualConv, for images).

delta is 'one' (1), 'inv' (1/L), 'inv_sqrt' (1/sqrt L), 'shared' (one trainable
scalar, init 1/L) or 'per_layer' (a trainable scalar per layer, init N(0, 1/L^2)).
`trainable` lists the parameters that train (any of A, b, delta, in_map, out_map); the
others stay at their init. Optional input and output maps (in_dim -> d, d -> out_dim)
make the width independent of the data. `init_profile='smooth'` draws A(k) as a smooth
function of k/L (C0 + (k/L) C1 + sin(2 pi k/L) C2) instead of iid across layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..profiles import random_sine_profile
from .activations import ACTIVATIONS, DELTAS
from .init import glorot_uniform

# Where the fused numba stack beats the batched-matmul one: narrow layers always, wider ones
# while width x batch is small. bench/cpu_crossover.py measures both stacks over widths and
# batches and prints how often this rule picks the faster one (its output holds the numbers).
FUSED_ALWAYS_WIDTH = 16
FUSED_MAX_WIDTH = 32
FUSED_MAX_WORK = 8192


def numba_wins(width: int, batch: int) -> bool:
    """Whether the fused numba stack is the faster CPU stack for this layer shape."""
    return width <= FUSED_ALWAYS_WIDTH or (width <= FUSED_MAX_WIDTH and width * batch <= FUSED_MAX_WORK)


# The Triton stack keeps a layer's d x d matrix in registers.
TRITON_MAX_WIDTH = 64


class ResidualMLP(nn.Module):
    def __init__(self, generators, dim, depth, activation="tanh", delta="inv_sqrt", bias=False,
                 trainable=("A",), init_std=0.0, init_scaling="dL", bias_std=0.0, dtype=torch.float32,
                 fused="auto", in_dim=None, out_dim=None, init_profile="iid"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if delta not in DELTAS:
            raise ValueError(f"delta must be one of {DELTAS}, got {delta!r}")
        self.seeds, self.dim, self.depth = len(generators), dim, depth
        self.activation, self.delta_mode = activation, delta
        self.sigma = ACTIVATIONS[activation]
        # Variance of A's entries: init_std^2 / (d * L^p), p set by init_scaling ('d', 'dL',
        # 'dL2'), or init_std^2 / d^2 ('d2', the companion paper's (s0/d)^2).
        if init_scaling == "d2":
            std = init_std / dim
        else:
            power = {"d": 0, "dL": 1, "dL2": 2}[init_scaling]
            std = init_std / math.sqrt(dim * depth**power)
        if init_profile == "iid":
            a = torch.stack([torch.randn(depth, dim, dim, generator=g, dtype=dtype) * std for g in generators])
        elif init_profile == "smooth":
            a = torch.stack([random_sine_profile(depth, (dim, dim), g, dtype) * std for g in generators])
        else:
            raise ValueError(f"init_profile must be 'iid' or 'smooth', got {init_profile!r}")
        self.A = nn.Parameter(a, requires_grad="A" in trainable)
        # Biases ~ N(0, bias_std^2 / d), drawn after A from each seed's generator.
        b = torch.stack([torch.randn(depth, dim, generator=g, dtype=dtype) * bias_std / math.sqrt(dim)
                         for g in generators]) if bias and bias_std > 0 else torch.zeros(self.seeds, depth, dim, dtype=dtype)
        self.b = nn.Parameter(b, requires_grad=bias and "b" in trainable)
        self.use_bias = bias
        if delta == "shared":
            d = torch.full((self.seeds, 1), 1.0 / depth, dtype=dtype)
        elif delta == "per_layer":
            d = torch.stack([torch.randn(depth, generator=g, dtype=dtype) / depth for g in generators])
        else:
            fixed = {"one": 1.0, "inv": 1.0 / depth, "inv_sqrt": depth**-0.5}[delta]
            d = torch.full((self.seeds, 1), fixed, dtype=dtype)
        self.delta = nn.Parameter(d, requires_grad=delta in ("shared", "per_layer") and "delta" in trainable)
        # Optional maps in and out (glorot uniform), fixed unless listed in `trainable`.
        self.in_map = self.out_map = None
        if in_dim is not None:
            self.in_map = nn.Parameter(torch.stack([glorot_uniform((dim, in_dim), in_dim, dim, g, dtype)
                                                    for g in generators]), requires_grad="in_map" in trainable)
        if out_dim is not None:
            self.out_map = nn.Parameter(torch.stack([glorot_uniform((out_dim, dim), dim, out_dim, g, dtype)
                                                     for g in generators]), requires_grad="out_map" in trainable)
        if fused not in ("auto", True, False, "bmm"):
            raise ValueError(f"fused must be 'auto', True, False or 'bmm', got {fused!r}")
        self.fused = fused

    def layer_deltas(self) -> torch.Tensor:
        """(S, L): the factor of each layer. A shared delta enters as |delta|, as in the
        companion code (`torch.abs(self.delta)`), so its sign never flips the residual."""
        delta = self.delta.abs() if self.delta_mode == "shared" else self.delta
        return delta.expand(self.seeds, self.depth)

    def fused_backend(self, x: torch.Tensor) -> str | None:
        """Which whole-stack kernel runs this input, or None for the plain PyTorch path.
        CPU: the fused numba stack where per-op overhead dominates (narrow layers; crossover
        measured, see numba_wins), the batched-matmul stack elsewhere; fused=True forces
        numba and fused="bmm" the batched-matmul stack. CUDA: the Triton stack for float32
        stacks up to TRITON_MAX_WIDTH wide (for True and "bmm" too). fused=False always
        takes the PyTorch path, which stays the reference all three are tested against."""
        if not self.fused:
            return None
        if x.device.type == "cpu":
            if self.fused == "bmm" or (self.fused == "auto" and not numba_wins(self.dim, x.shape[1])):
                return "bmm"
            return "numba"
        # The kernel indexes its stored states with 32-bit offsets.
        states = x.shape[0] * (self.depth + 1) * x.shape[1] * self.dim
        if x.device.type == "cuda" and x.dtype == torch.float32 and self.dim <= TRITON_MAX_WIDTH and states < 2**31:
            return "triton"
        return None

    def forward(self, x: torch.Tensor, keep: bool = False):
        if self.in_map is not None:
            x = torch.bmm(x.flatten(2), self.in_map.transpose(1, 2))
        if keep:
            return self._stack(x, keep=True)
        h = self._stack(x)
        return torch.bmm(h, self.out_map.transpose(1, 2)) if self.out_map is not None else h

    def _stack(self, x: torch.Tensor, keep: bool = False):
        backend = None if keep else self.fused_backend(x)
        delta = self.layer_deltas()
        if backend == "bmm":
            from .residual_bmm import bmm_stack
            return bmm_stack(x, self.A, self.b if self.use_bias else None, delta, self.activation)
        if backend == "numba":
            from .residual_fused import fused_stack
            return fused_stack(x, self.A, self.b, delta, self.activation)
        if backend == "triton":
            from .residual_triton import triton_stack
            return triton_stack(x, self.A, self.b, delta, self.activation)
        h = x
        states = [h] if keep else None
        # unbind once: indexing A[:, k] in the loop would make every layer's backward
        # write a gradient the size of all of A (quadratic in depth).
        a_layers = self.A.transpose(2, 3).unbind(1)
        b_layers = self.b.unsqueeze(2).unbind(1)
        deltas = delta.reshape(self.seeds, self.depth, 1, 1).unbind(1)
        for k in range(self.depth):
            z = torch.bmm(h, a_layers[k])
            if self.use_bias:
                z = z + b_layers[k]
            h = h + deltas[k] * self.sigma(z)
            if keep:
                states.append(h)
        return (h, states) if keep else h


class ResidualConv(nn.Module):
    """The convolutional residual family for images: h <- h + delta * sigma(conv(h; A_k) + b_k),
    'same' padding, S seeds stacked as groups of one grouped convolution."""

    def __init__(self, generators, channels: int, depth: int, kernel: int = 3, activation="relu",
                 delta="inv", init_std=1.0, trainable=("A", "b"), dtype=torch.float32):
        super().__init__()
        if delta not in DELTAS:
            raise ValueError(f"delta must be one of {DELTAS}, got {delta!r}")
        self.seeds, self.channels, self.depth = len(generators), channels, depth
        self.sigma = ACTIVATIONS[activation]
        fan_in = channels * kernel * kernel
        a = torch.stack([torch.randn(depth, channels, channels, kernel, kernel, generator=g, dtype=dtype)
                         * init_std / math.sqrt(fan_in) for g in generators])
        self.A = nn.Parameter(a, requires_grad="A" in trainable)
        self.b = nn.Parameter(torch.zeros(self.seeds, depth, channels, dtype=dtype), requires_grad="b" in trainable)
        if delta == "per_layer":
            d = torch.stack([torch.randn(depth, generator=g, dtype=dtype) / depth for g in generators])
        else:
            fixed = {"one": 1.0, "inv": 1.0 / depth, "inv_sqrt": depth**-0.5, "shared": 1.0 / depth}[delta]
            d = torch.full((self.seeds, 1), fixed, dtype=dtype)
        self.delta = nn.Parameter(d, requires_grad=delta in ("shared", "per_layer") and "delta" in trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (S, B, C, H, W) -> (S, B, C, H, W)."""
        s, b = x.shape[:2]
        h = x.transpose(0, 1).flatten(1, 2)  # (B, S*C, H, W)
        pad = self.A.shape[-1] // 2
        kernels = [k.flatten(0, 1) for k in self.A.unbind(1)]  # (S*C, C, k, k) per layer
        biases = [c.flatten() for c in self.b.unbind(1)]
        deltas = self.delta.expand(self.seeds, self.depth).repeat_interleave(self.channels, 0)
        deltas = deltas.view(1, self.seeds * self.channels, self.depth, 1, 1).unbind(2)
        for k in range(self.depth):
            h = h + deltas[k] * self.sigma(F.conv2d(h, kernels[k], biases[k], padding=pad, groups=self.seeds))
        return h.view(b, s, *x.shape[2:]).transpose(0, 1)
