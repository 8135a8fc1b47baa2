"""The downloadable datasets: their files and checksums, read from torchvision's classes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .download import RemoteFile


@dataclass(frozen=True)
class DownloadSpec:
    """What to fetch for one dataset and how to read it once fetched.

    `kind` is 'idx' (gzipped IDX files read by torchvision's MNIST-style classes) or
    'cifar' (a tarball of pickled batches read by torchvision's CIFAR10 class).
    `inner` holds the (name, md5) pairs torchvision checks inside a CIFAR archive.
    """

    name: str
    kind: str
    files: tuple[RemoteFile, ...]
    torchvision_class: str
    classes: tuple[str, ...]
    inner_train: tuple[tuple[str, str], ...] = field(default=())
    inner_test: tuple[tuple[str, str], ...] = field(default=())
    inner_meta: tuple[tuple[str, str], ...] = field(default=())
    base_folder: str = ""


# MD5 of the decompressed IDX files (published with the dataset), so a mirror that
# recompressed them, such as Debian's dataset-fashion-mnist, still verifies.
CONTENT_MD5 = {
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}


def _idx_spec(name: str, cls) -> DownloadSpec:
    content = CONTENT_MD5.get(name, {})
    return DownloadSpec(
        name=name,
        kind="idx",
        files=tuple(RemoteFile(fname, md5, content.get(fname)) for fname, md5 in cls.resources),
        torchvision_class=cls.__name__,
        classes=tuple(cls.classes),
    )


def download_spec(name: str) -> DownloadSpec:
    from torchvision import datasets as tvd

    if name == "mnist":
        return _idx_spec(name, tvd.MNIST)
    if name == "fashion_mnist":
        return _idx_spec(name, tvd.FashionMNIST)
    if name == "cifar10":
        cls = tvd.CIFAR10
        return DownloadSpec(
            name=name,
            kind="cifar",
            files=(RemoteFile(cls.filename, cls.tgz_md5),),
            torchvision_class=cls.__name__,
            classes=("airplane", "automobile", "bird", "cat", "deer",
                     "dog", "frog", "horse", "ship", "truck"),
            inner_train=tuple(tuple(x) for x in cls.train_list),
            inner_test=tuple(tuple(x) for x in cls.test_list),
            inner_meta=tuple(cls.meta.items()),
            base_folder=cls.base_folder,
        )
    raise KeyError(f"unknown downloadable dataset {name!r}; known: {', '.join(DOWNLOADABLE)}")


DOWNLOADABLE = ("mnist", "fashion_mnist", "cifar10")


def with_checksums(spec: DownloadSpec, md5s: dict) -> DownloadSpec:
    """`spec` with MD5s replaced by file name (downloaded files, and for CIFAR-10 the archive's
    inner batches and meta file); a name the spec does not have is an error naming it."""
    if not md5s:
        return spec
    inner = {n for n, _ in spec.inner_train + spec.inner_test} | ({dict(spec.inner_meta)["filename"]} if spec.inner_meta else set())
    known = {f.name for f in spec.files} | inner
    unknown = sorted(set(md5s) - known)
    if unknown:
        raise KeyError(f"data.checksums.{spec.name}: no file {unknown[0]!r} in {spec.name} ({', '.join(sorted(known))})")
    files = tuple(RemoteFile(f.name, md5s[f.name]) if f.name in md5s else f for f in spec.files)
    meta = dict(spec.inner_meta)
    if meta.get("filename") in md5s:
        meta["md5"] = md5s[meta["filename"]]
    return replace(spec, files=files,
                   inner_train=tuple((n, md5s.get(n, m)) for n, m in spec.inner_train),
                   inner_test=tuple((n, md5s.get(n, m)) for n, m in spec.inner_test),
                   inner_meta=tuple(meta.items()))
