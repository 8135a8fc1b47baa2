"""The activations and delta modes of the residual families, in one place: the PyTorch
models, the fused numba and Triton kernels and the TvG models all import them from here
(so no model module imports another for a table)."""

from __future__ import annotations

import torch

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "identity": lambda x: x}
# How the fused kernels (numba, Triton) name the activations.
ACT_CODES = {"tanh": 0, "relu": 1, "identity": 2}
# delta: 'one' (1), 'inv' (1/L), 'inv_sqrt' (1/sqrt L), 'shared' (one trainable scalar, init
# 1/L, used as |delta|) or 'per_layer' (a trainable scalar per layer, init N(0, 1/L^2)).
DELTAS = ("one", "inv", "inv_sqrt", "shared", "per_layer")
