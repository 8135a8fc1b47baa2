"""Thorpe & van Gennip's discrete ResNet and its objective.

    X(k+1) = X(k) + tau * sigma(K(k) X(k) + b(k)),  k = 0..N-1,  tau = 1/N,
    E_N = data loss(W X(N) + c)
          + a1 * sum_k (||K(k+1) - K(k)||^2 + |b(k+1) - b(k)|^2) / tau
          + a2 * tau * sum_k (||K(k)||^2 + |b(k)|^2)
          + a3 * (||W||^2 + |c|^2).

Weights are profiles over depth: node k sits at t_k = k / N, and the piecewise-linear
interpolant through the nodes (constant on [1 - 1/N, 1]) is the profile whose H1
seminorm the finite-difference penalty equals exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class TvGParams:
    K: torch.Tensor  # (N, d, d)
    b: torch.Tensor  # (N, d)
    W: torch.Tensor  # (classes, d)
    c: torch.Tensor  # (classes,)

    @property
    def depth(self) -> int:
        return self.K.shape[0]

    def flat(self) -> list[torch.Tensor]:
        return [self.K, self.b, self.W, self.c]


def euler_forward(p: TvGParams, x: torch.Tensor, sigma=torch.tanh) -> torch.Tensor:
    tau = 1.0 / p.depth
    h = x
    for k in range(p.depth):
        h = h + tau * sigma(h @ p.K[k].T + p.b[k])
    return h


def penalties(p: TvGParams, a1: float, a2: float, a3: float) -> dict[str, torch.Tensor]:
    tau = 1.0 / p.depth
    h1 = ((p.K[1:] - p.K[:-1]).pow(2).sum() + (p.b[1:] - p.b[:-1]).pow(2).sum()) / tau
    l2 = tau * (p.K.pow(2).sum() + p.b.pow(2).sum())
    head = p.W.pow(2).sum() + p.c.pow(2).sum()
    return {"h1": a1 * h1, "l2": a2 * l2, "head": a3 * head}


def objective(p: TvGParams, x, y, a1, a2, a3, sigma=torch.tanh) -> dict[str, torch.Tensor]:
    logits = euler_forward(p, x, sigma) @ p.W.T + p.c
    parts = {"data": F.cross_entropy(logits, y)}
    parts.update(penalties(p, a1, a2, a3))
    parts["total"] = sum(parts.values())
    return parts
