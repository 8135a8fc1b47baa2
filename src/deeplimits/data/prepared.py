"""The one prepared format every dataset is stored in, and its loader.

A prepared set is a dict of tensors (x_train, y_train, x_test, y_test) plus `meta`
(plain Python values: source, checksums, shapes, classes, split sizes, generator
settings). It loads with torch.load(weights_only=True).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..io import torch_save

REQUIRED = ("x_train", "y_train", "x_test", "y_test", "meta")


def save_prepared(path: str | Path, x_train, y_train, x_test, y_test, meta: dict) -> dict:
    meta = dict(meta)
    meta.update(
        n_train=int(x_train.shape[0]),
        n_test=int(x_test.shape[0]),
        x_shape=list(x_train.shape[1:]),
        y_shape=list(y_train.shape[1:]),
        x_dtype=str(x_train.dtype).replace("torch.", ""),
    )
    bundle = {
        "x_train": x_train.contiguous(),
        "y_train": y_train.contiguous(),
        "x_test": x_test.contiguous(),
        "y_test": y_test.contiguous(),
        "meta": meta,
    }
    torch_save(path, bundle)
    return bundle


def load_prepared(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"prepared dataset not found: {path} (run its data rule first)")
    bundle = torch.load(path, weights_only=True)
    missing = [k for k in REQUIRED if k not in bundle]
    if missing:
        raise ValueError(f"{path} is not a prepared dataset: missing {', '.join(missing)}")
    return bundle
