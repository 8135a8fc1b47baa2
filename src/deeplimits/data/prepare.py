"""Build one dataset into the prepared format: generate it, or download and read it."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from .download import fetch_files, gunzip, safe_extract_tar
from .prepared import save_prepared
from .registry import DOWNLOADABLE, DownloadSpec, download_spec
from .synthetic import BUILDERS

log = logging.getLogger(__name__)

ALL_DATASETS = tuple(BUILDERS) + DOWNLOADABLE


def prepare_dataset(name: str, data_cfg: dict, seed: int, out: str | Path) -> dict:
    """Write dataset `name` to `out` in the prepared format and return its meta."""
    if name in BUILDERS:
        settings = data_cfg.get(name, {})
        x_tr, y_tr, x_te, y_te, meta = BUILDERS[name](seed, **settings)
        meta["seed"] = seed
    elif name in DOWNLOADABLE:
        mirrors = data_cfg.get("mirrors", {}).get(name)
        if not mirrors:
            raise ValueError(f"config key 'data.mirrors.{name}' is empty: no mirror to download {name} from")
        x_tr, y_tr, x_te, y_te, meta = download_and_read(
            download_spec(name), mirrors, Path(data_cfg["download_dir"]) / name, data_cfg["timeout_s"]
        )
    else:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(ALL_DATASETS)}")
    meta = save_prepared(out, x_tr, y_tr, x_te, y_te, meta)["meta"]
    log.info("prepared %s: %d train, %d test, x %s", name, meta["n_train"], meta["n_test"], meta["x_shape"])
    return meta


def download_and_read(spec: DownloadSpec, mirrors: list[str], cache: Path, timeout_s: float):
    report = fetch_files(spec.name, list(spec.files), mirrors, cache, timeout_s)
    # Extraction goes to a fresh folder each time, so a half-extracted tree from a
    # crashed run is never read.
    with tempfile.TemporaryDirectory(dir=cache, prefix="extract-") as work:
        work = Path(work)
        if spec.kind == "idx":
            x_tr, y_tr, x_te, y_te = _read_idx(spec, cache, work)
        elif spec.kind == "cifar":
            x_tr, y_tr, x_te, y_te = _read_cifar(spec, cache, work)
        else:
            raise ValueError(f"unknown dataset kind {spec.kind!r}")
    meta = {
        "name": spec.name,
        "source": report.sources,
        "checksums_md5": {f.name: f.md5 for f in spec.files},
        "failed_mirrors": [vars(f) for f in report.failures],
        "task": "classification",
        "classes": list(spec.classes),
        "reader": f"torchvision.datasets.{spec.torchvision_class}",
    }
    return x_tr, y_tr, x_te, y_te, meta


def _read_idx(spec: DownloadSpec, cache: Path, work: Path):
    from torchvision import datasets as tvd

    raw = work / spec.torchvision_class / "raw"
    raw.mkdir(parents=True)
    for remote in spec.files:
        gunzip(cache / remote.name, raw / remote.name.removesuffix(".gz"))
    cls = getattr(tvd, spec.torchvision_class)
    splits = []
    for train in (True, False):
        ds = cls(root=str(work), train=train, download=False)
        splits += [ds.data.unsqueeze(1).float() / 255.0, ds.targets.long()]
    return tuple(splits)


def _read_cifar(spec: DownloadSpec, cache: Path, work: Path):
    from torchvision import datasets as tvd

    for remote in spec.files:
        safe_extract_tar(cache / remote.name, work)
    # torchvision checks each batch file's MD5 against the class lists; a subclass
    # carries the spec's lists so that the same reader serves test fixtures.
    cls = type(
        "CIFAR10Checked",
        (tvd.CIFAR10,),
        {
            "train_list": [list(x) for x in spec.inner_train],
            "test_list": [list(x) for x in spec.inner_test],
            "base_folder": spec.base_folder,
            "meta": dict(spec.inner_meta),
        },
    )
    splits = []
    for train in (True, False):
        ds = cls(root=str(work), train=train, download=False)
        x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).float() / 255.0
        splits += [x.contiguous(), torch.tensor(ds.targets, dtype=torch.int64)]
    return tuple(splits)
