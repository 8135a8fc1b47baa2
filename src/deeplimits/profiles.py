"""Weight profiles along depth t in [0, 1], once for every model and analysis that uses them.

A depth-N network's layer weights are the nodes of a profile. Two node layouts occur:
- *layer nodes* t_k = k/N, k = 0..N-1 (a ResNet's layers; the profile is constant after the
  last node, on [(N-1)/N, 1]);
- *closed nodes* t_i = i/(M-1), i = 0..M-1 (the continuum problem's grid: both ends included).
Between nodes the profile is linear. `sine_profile` is the smooth profile
C0 + t C1 + sin(2 pi t) C2 that TvG.3 integrates and CRX.3's smooth initialisation samples.
"""

from __future__ import annotations

import math

import torch


def on_grid(nodes: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """The piecewise-linear profile through layer nodes t_k = k/N (nodes: (N, ...)) at `grid`."""
    n = nodes.shape[0]
    pos = torch.clamp(grid * n, max=n - 1)
    lo = torch.clamp(pos.floor().long(), max=n - 1)
    hi = torch.clamp(lo + 1, max=n - 1)
    frac = (pos - lo.double()).to(nodes.dtype).view(-1, *[1] * (nodes.dim() - 1))
    return nodes[lo] * (1 - frac) + nodes[hi] * frac


def resample(nodes: torch.Tensor, depth: int) -> torch.Tensor:
    """The profile through layer nodes evaluated at the layer nodes of a depth-`depth` grid
    (a deeper network's warm start)."""
    return on_grid(nodes, torch.arange(depth, dtype=torch.float64) / depth)


def closed_on_grid(nodes: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """The piecewise-linear profile through closed nodes t_i = i/(M-1) at `grid` (a tensor of
    times, or one 0-d time: then one node-shaped value, differentiable in the nodes)."""
    m = nodes.shape[0]
    pos = torch.clamp(grid / (1.0 / (m - 1)), max=m - 1)
    lo = torch.clamp(pos.floor().long(), max=m - 2)
    frac = pos - lo.to(pos.dtype)
    if grid.dim() == 0:
        return nodes[lo] * (1 - frac) + nodes[lo + 1] * frac
    frac = frac.view(-1, *[1] * (nodes.dim() - 1))
    return nodes[lo] * (1 - frac) + nodes[lo + 1] * frac


def sine_profile(t: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """K(t) = C0 + t C1 + sin(2 pi t) C2 at times t (coeffs: (3, ...)); one value per time."""
    t = t.reshape((-1,) + (1,) * (coeffs.dim() - 1))
    return coeffs[0] + t * coeffs[1] + torch.sin(2 * math.pi * t) * coeffs[2]


def random_sine_profile(depth: int, shape, gen: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    """`sine_profile` at the layer nodes of depth `depth` with C_i ~ N(0, 1) entries, scaled so
    each entry has unit variance on average over t: a depth profile with a smooth limit."""
    c = torch.randn(3, *shape, generator=gen, dtype=dtype)
    profile = sine_profile(torch.arange(depth, dtype=dtype) / depth, c)
    return profile / math.sqrt(1 + 1 / 3 + 1 / 2)
