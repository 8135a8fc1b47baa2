"""Image augmentation on the device, one affine warp for a whole (S, B) batch:
shift by up to `pad` pixels (pad + random crop), horizontal flip, rotation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_images(x: torch.Tensor, gens: list[torch.Generator], pad: int = 2,
                   max_degrees: float = 15.0) -> torch.Tensor:
    """x: (S, B, C, H, W); seed s draws its transforms from gens[s]."""
    s, b, c, h, w = x.shape
    draws = []
    for g in gens:
        u = torch.rand(b, 4, generator=g)
        draws.append(u)
    u = torch.stack(draws).to(x.device, x.dtype).view(s * b, 4)
    angle = (u[:, 0] * 2 - 1) * math.radians(max_degrees)
    flip = torch.where(u[:, 1] < 0.5, -1.0, 1.0).to(x.dtype)
    # Integer shifts in [-pad, pad] pixels, in grid units (2 / size per pixel).
    tx = (torch.floor(u[:, 2] * (2 * pad + 1)) - pad) * 2.0 / w
    ty = (torch.floor(u[:, 3] * (2 * pad + 1)) - pad) * 2.0 / h
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([
        torch.stack([cos * flip, -sin, tx], dim=1),
        torch.stack([sin * flip, cos, ty], dim=1),
    ], dim=1)
    flat = x.reshape(s * b, c, h, w)
    grid = F.affine_grid(theta, flat.shape, align_corners=False)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(s, b, c, h, w)
