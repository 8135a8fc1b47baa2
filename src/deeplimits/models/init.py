"""Parameter initialisations, drawn seed by seed from each seed's own generator so a
stack of S seeds holds exactly what S separate runs would."""

from __future__ import annotations

import math

import torch


def glorot_uniform(shape, fan_in: int, fan_out: int, gen: torch.Generator, dtype=torch.float32):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1) * limit


def stacked(draw, generators: list[torch.Generator]) -> torch.Tensor:
    """Stack one draw per seed: draw(gen) -> tensor."""
    return torch.stack([draw(g) for g in generators])
