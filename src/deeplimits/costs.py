"""What one training cell needs on a GPU, from its model's sizes (no torch: the DAG is planned
with it, so that each GPU job declares its memory and a run never starts more than fits).

A cell trains S seeds of one model together. Its device memory is

    parameters x (1 weight + 1 gradient + optimiser states) x bytes
    + saved activations of one batch x bytes
    + the training and test split held on the device
    + a fixed CUDA context and allocator reserve.

Parameters and activations per builder (cells.BUILDERS):
- hz (HZResNet, k branch layers, width w, depth D, kernel area a = 9 for conv, 1 for dense,
  HW the image's pixels for conv, 1 for dense): P = S [w c_in a + w + D k (w^2 a + w) + C w + C];
  per block 2k + 2 saved maps (each layer's input and its relu, the sum and its relu) of
  w x HW values, plus the stem and the pooled head: A = S B HW w (D (2k + 2) + 2).
- plain (PlainReLU): P = S [in w + w + D (w^2 + w) + C w + C]; A = S B w (D + 2) (each relu's
  output, which is also the next layer's saved input).
- crx4 and gd (ResidualMLP, dim d): P = S D (d^2 + d + 1); A = S B d (3D + 1) (each layer's
  input, pre-activation and activation).
`tests/test_costs.py` checks the formula against a measured CPU peak of the same model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A CUDA context, cuBLAS/cuDNN workspaces and the caching allocator's slack (MiB).
CUDA_CONTEXT_MB = 1024
MB = 2**20

# The datasets' shapes as prepared (x shape, classes or target size, train and test sizes):
# what a cell's model is built from, known before any data is prepared. The synthetic sets'
# sizes come from the config (`data:`), so they are read there.
DATASETS = {
    "cifar10": ((3, 32, 32), 10, 50000, 10000),
    "mnist": ((1, 28, 28), 10, 60000, 10000),
    "fashion_mnist": ((1, 28, 28), 10, 60000, 10000),
    "digits": ((1, 8, 8), 10, 1438, 359),
    "two_moons": ((2,), 2, None, None),
    "mnist_features": ((25,), 25, 60000, 10000),
}


@dataclass(frozen=True)
class CellCost:
    parameters: int        # over all seeds
    activations: int       # values saved for backward, one batch, all seeds
    data_values: int       # training and test split values on the device
    bytes_per_value: int
    optimizer_states: int  # per parameter (Adam 2, GD/SGD 0)

    def memory_mb(self) -> float:
        """Weights, gradients, optimiser states, saved activations and data (MiB)."""
        weights = self.parameters * (2 + self.optimizer_states)
        return (weights + self.activations + self.data_values) * self.bytes_per_value / MB

    def gpu_memory_mb(self) -> int:
        """memory_mb plus the CUDA context; a CUDA-graph replay records into the same pool."""
        return int(self.memory_mb()) + CUDA_CONTEXT_MB


def dataset_shape(dataset: str, data_cfg: dict) -> tuple[tuple[int, ...], int, int, int]:
    """(x shape, classes or target size, n_train, n_test) of a dataset, before it is prepared."""
    settings = data_cfg.get(dataset, {})
    if dataset in ("near_orthogonal", "crowded"):
        return (settings["dim"],), settings["dim"], settings["n"], settings["n"]
    if dataset == "ode":
        return (settings["dim"],), settings["dim"], settings["n_train"], settings["n_test"]
    if dataset not in DATASETS:
        raise KeyError(f"costs: no shape known for dataset {dataset!r}; known: {', '.join(DATASETS)}")
    shape, classes, n_train, n_test = DATASETS[dataset]
    if n_train is None:  # two_moons: n points, used for both splits
        n_train = n_test = settings["n"]
    return shape, classes, n_train, n_test


def cell_cost(builder: str, settings: dict, dataset: str, depth: int, data_cfg: dict) -> CellCost:
    """The sizes of one cell of a builder (cells.BUILDERS) with its job settings."""
    shape, classes, n_train, n_test = dataset_shape(dataset, data_cfg)
    features = 1
    for s in shape:
        features *= s
    seeds = settings["seeds"]
    batch = min(settings.get("batch_size") or n_train, n_train)
    data = (n_train + n_test) * (features + 1)
    if builder == "hz":
        w, k = settings["width"], settings["branch_layers"]
        conv = settings["block"] == "conv"
        area, pixels, c_in = (9, shape[1] * shape[2], shape[0]) if conv else (1, 1, features)
        params = seeds * (w * c_in * area + w + depth * k * (w * w * area + w) + classes * w + classes)
        acts = seeds * batch * pixels * w * (depth * (2 * k + 2) + 2)
        return CellCost(params, acts, data, 4, 2)
    if builder == "plain":
        w = settings["width"]
        params = seeds * (features * w + w + depth * (w * w + w) + classes * w + classes)
        return CellCost(params, seeds * batch * w * (depth + 2), data, 4, 2)
    if builder in ("crx4", "gd"):
        d = shape[0]
        params = seeds * depth * (d * d + d + 1)
        acts = seeds * batch * d * (3 * depth + 1)
        if builder == "gd":
            return CellCost(params, acts, data, 8 if settings["dtype"] == "float64" else 4, 0)
        return CellCost(params, acts, data, 4, 2)
    raise KeyError(f"costs: unknown builder {builder!r}")


def steps_of(builder: str, settings: dict, dataset: str, data_cfg: dict) -> int:
    """Optimiser steps a cell takes at most (a stopping rule may end it sooner)."""
    _, _, n_train, _ = dataset_shape(dataset, data_cfg)
    if builder == "gd":
        return settings["steps"]
    n_train = round(n_train * (1 - settings.get("validation", 0.0)))
    return settings["epochs"] * math.ceil(n_train / min(settings["batch_size"], n_train))


def flops_per_step(builder: str, settings: dict, dataset: str, depth: int, data_cfg: dict) -> float:
    """Floating-point operations of one training step (forward and backward: 6 per multiply-add
    of the layers' matrix products), all seeds."""
    shape, classes, n_train, _ = dataset_shape(dataset, data_cfg)
    features = math.prod(shape)
    batch = min(settings.get("batch_size") or n_train, n_train)
    if builder == "hz":
        w, k = settings["width"], settings["branch_layers"]
        conv = settings["block"] == "conv"
        area, pixels, c_in = (9, shape[1] * shape[2], shape[0]) if conv else (1, 1, features)
        macs = pixels * (w * c_in * area + depth * k * w * w * area) + classes * w
    elif builder == "plain":
        w = settings["width"]
        macs = features * w + depth * w * w + w * classes
    elif builder in ("crx4", "gd"):
        macs = depth * shape[0] ** 2
    else:
        raise KeyError(f"costs: unknown builder {builder!r}")
    return 6.0 * settings["seeds"] * batch * macs


def cell_flops(builder: str, settings: dict, dataset: str, depth: int, data_cfg: dict) -> float:
    """A training cell's work: its steps times the work of one."""
    return steps_of(builder, settings, dataset, data_cfg) * flops_per_step(builder, settings, dataset, depth, data_cfg)
