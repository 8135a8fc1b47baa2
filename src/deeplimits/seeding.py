"""Seeds derived from the root seed and a label, so every stream is reproducible and distinct."""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def derive_seed(root: int, *labels) -> int:
    text = "/".join([str(root), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def torch_generator(root: int, *labels, device: str | torch.device = "cpu") -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(root, *labels))
    return gen


def numpy_rng(root: int, *labels) -> np.random.Generator:
    return np.random.default_rng(derive_seed(root, *labels))
