"""Plain deep ReLU networks of Xu & Zhang: N(n) = relu(W(n) N(n-1) + b(n)), no skip.

A trained input map (in -> width) and output map (width -> classes) surround the
`depth` square layers. Initialisations of the square layers:
  'he':         W(n) ~ N(0, 2/width), b(n) = 0;
  'convergent': W(n) = I + n^-(1+alpha) G(n), b(n) = n^-(1+alpha) g(n), with G(n) of unit
                spectral norm and g(n) of unit l2 norm (a summable perturbation of I).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .init import glorot_uniform, stacked

INITS = ("he", "convergent")


def convergent_layers(depth: int, width: int, alpha: float, gen: torch.Generator, dtype=torch.float32):
    """(W, b) of shapes (depth, width, width) and (depth, width): identity plus n^-(1+alpha) noise."""
    g = torch.randn(depth, width, width, generator=gen, dtype=torch.float64)
    g = g / torch.linalg.matrix_norm(g, ord=2).view(-1, 1, 1)
    v = torch.randn(depth, width, generator=gen, dtype=torch.float64)
    v = v / v.norm(dim=1, keepdim=True)
    scale = torch.arange(1, depth + 1, dtype=torch.float64) ** -(1 + alpha)
    w = torch.eye(width, dtype=torch.float64) + scale.view(-1, 1, 1) * g
    return w.to(dtype), (scale.view(-1, 1) * v).to(dtype)


def he_layers(depth: int, width: int, gen: torch.Generator, dtype=torch.float32):
    w = torch.randn(depth, width, width, generator=gen, dtype=dtype) * math.sqrt(2.0 / width)
    return w, torch.zeros(depth, width, dtype=dtype)


class PlainReLU(nn.Module):
    def __init__(self, generators, in_dim: int, width: int, depth: int, n_classes: int,
                 init: str = "he", alpha: float = 0.5):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.seeds, self.depth, self.width = len(generators), depth, width
        self.in_w = nn.Parameter(stacked(lambda g: glorot_uniform((width, in_dim), in_dim, width, g), generators))
        self.in_b = nn.Parameter(torch.zeros(self.seeds, width))
        if init == "he":
            layers = [he_layers(depth, width, g) for g in generators]
        else:
            layers = [convergent_layers(depth, width, alpha, g) for g in generators]
        self.W = nn.Parameter(torch.stack([w for w, _ in layers]))
        self.b = nn.Parameter(torch.stack([b for _, b in layers]))
        self.out_w = nn.Parameter(stacked(lambda g: glorot_uniform((n_classes, width), width, n_classes, g), generators))
        self.out_b = nn.Parameter(torch.zeros(self.seeds, n_classes))

    def hidden(self, x: torch.Tensor, keep: bool = False):
        h = torch.relu(torch.baddbmm(self.in_b.unsqueeze(1), x.flatten(2), self.in_w.transpose(1, 2)))
        states = [h] if keep else None
        # unbind once (indexing per layer makes the backward quadratic in depth).
        ws = self.W.transpose(2, 3).unbind(1)
        bs = self.b.unsqueeze(2).unbind(1)
        for n in range(self.depth):
            h = torch.relu(torch.baddbmm(bs[n], h, ws[n]))
            if keep:
                states.append(h)
        return (h, states) if keep else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.out_b.unsqueeze(1), self.hidden(x), self.out_w.transpose(1, 2))
