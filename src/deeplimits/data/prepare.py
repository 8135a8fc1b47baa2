"""Build one dataset into the prepared format: generate it, or download and read it."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from .download import fetch_files, gunzip, safe_extract_tar
from .prepared import save_prepared
from .registry import DOWNLOADABLE, DownloadSpec, download_spec, with_checksums
from .synthetic import BUILDERS

log = logging.getLogger(__name__)

DERIVED = ("mnist_features",)
ALL_DATASETS = tuple(BUILDERS) + DOWNLOADABLE + DERIVED


def checked_spec(name: str, data_cfg: dict):
    """The dataset's download spec, with the config's own checksums (data.checksums) in place
    of the published ones where it sets any."""
    return with_checksums(download_spec(name), data_cfg.get("checksums", {}).get(name, {}))


def data_settings(data_cfg: dict, name: str) -> dict:
    """The part of the config's data section that preparing dataset `name` reads, and nothing
    else: a data job's parameters, so that changing one dataset's keys (or a key no dataset
    reads) reruns that dataset's job alone, not every dataset and every cell trained on it."""
    if name in BUILDERS:
        return {name: data_cfg.get(name, {})}
    source = "mnist" if name == "mnist_features" else name
    if source not in DOWNLOADABLE:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(ALL_DATASETS)}")
    part = {"mirrors": {source: data_cfg.get("mirrors", {}).get(source, [])},
            "checksums": {source: data_cfg.get("checksums", {}).get(source, {})},
            "download_dir": data_cfg["download_dir"], "timeout_s": data_cfg["timeout_s"]}
    if name == "mnist_features":
        part["mnist_features"] = data_cfg.get("mnist_features", {})
    return part


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
            checked_spec(name, data_cfg), mirrors, Path(data_cfg["download_dir"]) / name, data_cfg["timeout_s"]
        )
    elif name == "mnist_features":
        x_tr, y_tr, x_te, y_te, meta = mnist_features(data_cfg, seed, Path(out).parent)
    else:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(ALL_DATASETS)}")
    meta = save_prepared(out, x_tr, y_tr, x_te, y_te, meta)["meta"]
    log.info("prepared %s: %d train, %d test, x %s", name, meta["n_train"], meta["n_test"], meta["x_shape"])
    return meta


def mnist_features(data_cfg: dict, seed: int, prepared_dir: Path):
    """CRX.4's features from MNIST (source: mnist, the default: no MNIST mirror answering is
    an error that names the way on), or from Fashion-MNIST when MNIST cannot be had and the
    config opts in (source: auto) or asks for it (source: fashion_mnist); meta says which."""
    from .download import DownloadError
    from .prepared import load_prepared
    from .synthetic import one_hot_targets, random_conv_features

    source = data_cfg.get("mnist_features", {}).get("source", "mnist")
    note = ""
    if source in ("auto", "mnist"):
        try:
            bundle = load_prepared(prepared_dir / "mnist.pt") if (prepared_dir / "mnist.pt").exists() else None
            if bundle is None:
                spec = checked_spec("mnist", data_cfg)
                x_tr, y_tr, x_te, y_te, _ = download_and_read(
                    spec, data_cfg["mirrors"]["mnist"], Path(data_cfg["download_dir"]) / "mnist", data_cfg["timeout_s"])
                bundle = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
            used = "mnist"
        except DownloadError as err:
            if source == "mnist":
                raise DownloadError(err.dataset, err.failures, hint=(
                    "CRX.4's features need MNIST: add a mirror under data.mirrors.mnist, or set "
                    "data.mnist_features.source: auto to let Fashion-MNIST stand in (its claim row then says so)"
                )) from err
            log.warning("MNIST unavailable, Fashion-MNIST stands in: %s", str(err).splitlines()[0])
            note = "MNIST could not be downloaded; Fashion-MNIST stands in"
            used = "fashion_mnist"
    else:
        used = "fashion_mnist"
    if used == "fashion_mnist":
        bundle = load_prepared(prepared_dir / "fashion_mnist.pt")
    feats = [random_conv_features(bundle[k], seed) for k in ("x_train", "x_test")]
    targets = [one_hot_targets(bundle[k], feats[0].shape[1]) for k in ("y_train", "y_test")]
    meta = {"name": "mnist_features", "source": f"{used} through two random convolutions",
            "images": used, "note": note, "task": "regression", "seed": seed}
    return feats[0], targets[0], feats[1], targets[1], meta


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
