"""Fully connected residual networks h <- h + delta * sigma(A h + b) (CRX, Cohen et al.).

delta is 'one' (1), 'inv' (1/L), 'inv_sqrt' (1/sqrt L), 'shared' (one trainable
scalar, init 1/L) or 'per_layer' (a trainable scalar per layer, init N(0, 1/L^2)).
`trainable` lists the parameters that train; the others stay at their init.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "identity": lambda x: x}
# Width x batch up to which the fused CPU stack beats batched matmuls (bench/train_throughput.py).
FUSED_MAX_WORK = 16 * 64
DELTAS = ("one", "inv", "inv_sqrt", "shared", "per_layer")


class ResidualMLP(nn.Module):
    def __init__(self, generators, dim, depth, activation="tanh", delta="inv_sqrt", bias=False,
                 trainable=("A",), init_std=0.0, init_scaling="dL", bias_std=0.0, dtype=torch.float32,
                 fused="auto"):
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
        a = torch.stack([torch.randn(depth, dim, dim, generator=g, dtype=dtype) * std for g in generators])
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
        if fused not in ("auto", True, False):
            raise ValueError(f"fused must be 'auto', True or False, got {fused!r}")
        self.fused = fused

    def use_fused(self, x: torch.Tensor) -> bool:
        """The numba stack on the CPU where per-op overhead dominates (narrow layers), the
        plain PyTorch path elsewhere (and on GPUs). Crossover measured by bench/train_throughput.py."""
        if self.fused == "auto":
            return x.device.type == "cpu" and self.dim * x.shape[1] <= FUSED_MAX_WORK
        return bool(self.fused) and x.device.type == "cpu"


    def forward(self, x: torch.Tensor, keep: bool = False):
        if not keep and self.use_fused(x):
            from .residual_fused import fused_stack

            delta = self.delta.expand(self.seeds, self.depth)
            return fused_stack(x, self.A, self.b, delta, self.activation)
        h = x
        states = [h] if keep else None
        # unbind once: indexing A[:, k] in the loop would make every layer's backward
        # write a gradient the size of all of A (quadratic in depth).
        a_layers = self.A.transpose(2, 3).unbind(1)
        b_layers = self.b.unsqueeze(2).unbind(1)
        deltas = self.delta.expand(self.seeds, self.depth).view(self.seeds, self.depth, 1, 1).unbind(1)
        for k in range(self.depth):
            z = torch.bmm(h, a_layers[k])
            if self.use_bias:
                z = z + b_layers[k]
            h = h + deltas[k] * self.sigma(z)
            if keep:
                states.append(h)
        return (h, states) if keep else h
