import time
from pathlib import Path

import pytest
import torch

from deeplimits.data.download import DownloadError, UnsafeArchiveError, fetch_files, safe_extract_tar
from deeplimits.data.prepare import download_and_read, prepare_dataset
from deeplimits.data.prepared import load_prepared
from deeplimits.data.registry import download_spec

from .fixtures_data import cifar_like, mnist_like, serving, tar_bytes

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_good_download_through_torchvision_reader(tmp_path):
    files, spec = mnist_like()
    with serving(files) as srv:
        x_tr, y_tr, x_te, y_te, meta = download_and_read(spec, [f"{srv.url}/good/"], tmp_path, 5)
    assert x_tr.shape == (12, 1, 28, 28) and x_te.shape == (5, 1, 28, 28)
    assert float(x_tr.max()) <= 1.0 and y_tr.dtype == torch.int64
    assert all(src.startswith(srv.url) for src in meta["source"].values())


def test_corrupted_file_fails_checksum_and_next_mirror_is_used(tmp_path):
    files, spec = mnist_like()
    with serving(files) as srv:
        report = fetch_files("mnist", list(spec.files), [f"{srv.url}/corrupt/", f"{srv.url}/good/"], tmp_path, 5)
    assert any("checksum mismatch" in f.reason for f in report.failures)
    assert all("/good/" in src for src in report.sources.values())


def test_404_moves_on_to_the_next_mirror(tmp_path):
    files, spec = mnist_like()
    with serving(files) as srv:
        report = fetch_files("mnist", list(spec.files), [f"{srv.url}/missing/", f"{srv.url}/good/"], tmp_path, 5)
    assert any("HTTP 404" in f.reason for f in report.failures)
    assert len(report.sources) == len(spec.files)


def test_hanging_server_times_out_and_next_mirror_is_used(tmp_path):
    files, spec = mnist_like()
    with serving(files) as srv:
        t0 = time.monotonic()
        report = fetch_files("mnist", list(spec.files)[:1], [f"{srv.url}/hang/", f"{srv.url}/good/"], tmp_path, 0.5)
        elapsed = time.monotonic() - t0
    assert "timed out" in report.failures[0].reason
    assert elapsed < 5


def test_all_mirrors_failing_gives_one_error_naming_each(tmp_path):
    files, spec = mnist_like()
    with serving(files) as srv:
        mirrors = [f"{srv.url}/missing/", f"{srv.url}/corrupt/", "file:///nonexistent/folder/"]
        with pytest.raises(DownloadError) as info:
            fetch_files("mnist", list(spec.files), mirrors, tmp_path, 5)
    msg = str(info.value)
    assert "'mnist'" in msg
    for mirror, reason in zip(mirrors, ["HTTP 404", "checksum mismatch", "no such file"]):
        assert mirror in msg
        assert reason in msg
    # Nothing partial is left where a later run would trust it.
    assert not any(p.name.endswith(".gz") for p in tmp_path.iterdir())
    assert not any(p.suffix == ".part" for p in tmp_path.iterdir())


def test_prepare_reports_the_dataset_when_every_mirror_fails(tmp_path):
    data_cfg = {"mirrors": {"mnist": ["file:///nonexistent/"]}, "download_dir": str(tmp_path / "dl"), "timeout_s": 1}
    with pytest.raises(DownloadError, match="mnist"):
        prepare_dataset("mnist", data_cfg, 0, tmp_path / "mnist.pt")
    assert not (tmp_path / "mnist.pt").exists()


def test_file_mirror_and_cache(tmp_path):
    files, spec = mnist_like()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, blob in files.items():
        (mirror / name).write_bytes(blob)
    cache = tmp_path / "cache"
    first = fetch_files("mnist", list(spec.files), [mirror.as_uri() + "/"], cache, 5)
    assert all(src.startswith("file://") for src in first.sources.values())
    again = fetch_files("mnist", list(spec.files), ["file:///nonexistent/"], cache, 5)
    assert all(src.startswith("cache (from file://") for src in again.sources.values())


def test_cifar_tarball_through_torchvision_reader(tmp_path):
    files, spec = cifar_like()
    with serving(files) as srv:
        x_tr, y_tr, x_te, y_te, meta = download_and_read(spec, [f"{srv.url}/good/"], tmp_path, 5)
    assert x_tr.shape == (20, 3, 32, 32) and x_te.shape == (4, 3, 32, 32)
    assert meta["reader"] == "torchvision.datasets.CIFAR10"


def test_cifar_with_corrupted_inner_file_is_refused(tmp_path):
    files, spec = cifar_like()
    bad_spec = spec.__class__(**{**spec.__dict__, "inner_test": (("test_batch", "0" * 32),)})
    with serving(files) as srv, pytest.raises(RuntimeError, match="corrupted"):
        download_and_read(bad_spec, [f"{srv.url}/good/"], tmp_path, 5)


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil-absolute.txt"])
def test_archive_paths_leaving_the_target_are_refused(tmp_path, name):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(tar_bytes({"ok.txt": b"fine", name: b"evil"}))
    with pytest.raises(UnsafeArchiveError):
        safe_extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "ok.txt").exists()  # refused before anything is written


def test_archive_links_are_refused(tmp_path):
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(tar_bytes({"ok.txt": b"x"}, links={"escape": "/etc"}))
    with pytest.raises(UnsafeArchiveError, match="link"):
        safe_extract_tar(archive, tmp_path / "out")


def test_registry_reads_torchvision_checksums():
    spec = download_spec("fashion_mnist")
    assert spec.torchvision_class == "FashionMNIST"
    assert len(spec.files) == 4 and all(len(f.md5) == 32 for f in spec.files)
    assert download_spec("cifar10").inner_train


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_folder_as_file_mirror(tmp_path):
    data_cfg = {"mirrors": {"fashion_mnist": ["http://127.0.0.1:9/", DEBIAN_FASHION.as_uri() + "/"]},
                "download_dir": str(tmp_path / "dl"), "timeout_s": 2}
    meta = prepare_dataset("fashion_mnist", data_cfg, 0, tmp_path / "fashion_mnist.pt")
    assert meta["n_train"] == 60000 and meta["n_test"] == 10000
    assert meta["classes"][0] == "T-shirt/top"
    bundle = load_prepared(tmp_path / "fashion_mnist.pt")
    assert bundle["x_train"].shape == (60000, 1, 28, 28)
    # Debian recompressed the files: they verify on their decompressed content.
    assert any("127.0.0.1:9" in f["mirror"] for f in meta["failed_mirrors"])


def test_a_mirror_of_other_files_verifies_against_the_configs_own_checksums(tmp_path):
    """data.checksums: a mirror of files that are not the published ones (here tiny files in
    the real formats) verifies against the config's MD5s, inner CIFAR batches included."""
    from deeplimits.data.prepare import checked_spec, prepare_dataset
    from deeplimits.data.prepared import load_prepared

    files, spec = cifar_like()
    mirror = tmp_path / "cifar"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(files["cifar-10-python.tar.gz"])
    md5s = {f.name: f.md5 for f in spec.files} | dict(spec.inner_train + spec.inner_test)
    md5s["batches.meta"] = dict(spec.inner_meta)["md5"]
    cfg = {"mirrors": {"cifar10": [mirror.as_uri() + "/"]}, "download_dir": str(tmp_path / "dl"), "timeout_s": 5,
           "checksums": {"cifar10": md5s}}
    prepare_dataset("cifar10", cfg, 0, tmp_path / "cifar10.pt")
    assert load_prepared(tmp_path / "cifar10.pt")["x_train"].shape == (20, 3, 32, 32)
    # Without them the published checksum refuses the tiny archive, naming the dataset.
    with pytest.raises(Exception, match="cifar10"):
        prepare_dataset("cifar10", {**cfg, "checksums": {}, "download_dir": str(tmp_path / "dl2")}, 0, tmp_path / "x.pt")
    with pytest.raises(KeyError, match="no file 'nope'"):
        checked_spec("cifar10", {"checksums": {"cifar10": {"nope": "0" * 32}}})


def _fashion_stand_in(prepared_dir: Path):
    """A tiny prepared Fashion-MNIST (28x28 images), as the data rule would have written it."""
    from deeplimits.data.prepared import save_prepared

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(6, 1, 28, 28, generator=g), torch.arange(6) % 3
    save_prepared(prepared_dir / "fashion_mnist.pt", x, y, x[:2], y[:2], {"name": "fashion_mnist"})


@pytest.mark.parametrize("source", ["mnist", "auto"])
def test_mnist_features_fall_back_to_fashion_mnist_only_when_asked(tmp_path, source):
    """CRX.4's features: with every MNIST mirror failing, the default (source: mnist) stops with
    an error that names the key that opts in; source: auto lets Fashion-MNIST stand in and says so."""
    from deeplimits.data.prepare import mnist_features

    _fashion_stand_in(tmp_path)
    data_cfg = {"mirrors": {"mnist": ["file:///nonexistent/mnist/"]}, "download_dir": str(tmp_path / "dl"),
                "timeout_s": 1, "mnist_features": {"source": source}}
    if source == "mnist":
        with pytest.raises(DownloadError) as info:
            mnist_features(data_cfg, 0, tmp_path)
        assert "data.mnist_features.source: auto" in str(info.value) and "no such file" in str(info.value)
        return
    x_tr, y_tr, x_te, _, meta = mnist_features(data_cfg, 0, tmp_path)
    assert meta["images"] == "fashion_mnist" and "Fashion-MNIST stands in" in meta["note"]
    assert x_tr.shape == (6, 25) and x_te.shape == (2, 25) and y_tr.shape == (6, 25)
    assert torch.allclose(x_tr.norm(dim=1), torch.ones(6))


def test_a_data_job_reads_only_its_own_settings(tmp_path):
    """A data job's parameters are the part of the data section its dataset reads: a key of
    another dataset (or one no dataset reads) leaves them unchanged, so Snakemake reruns that
    job alone; and preparing from the part gives what preparing from the whole section gives."""
    from deeplimits.config import load_config
    from deeplimits.data.prepare import data_settings

    data = load_config(overrides={"scale": "smoke"})["data"]
    other = {**data, "mnist_features": {"source": "auto"}, "two_moons": {"n": 7, "noise": 0.5},
             "mirrors": {**data["mirrors"], "cifar10": ["file:///elsewhere/"]}}
    for name in ("ode", "near_orthogonal", "digits", "mnist", "fashion_mnist"):
        assert data_settings(data, name) == data_settings(other, name), name
    assert data_settings(data, "mnist_features") != data_settings(other, "mnist_features")
    assert data_settings(data, "cifar10") != data_settings(other, "cifar10")
    whole, part = tmp_path / "whole.pt", tmp_path / "part.pt"
    prepare_dataset("ode", data, 0, whole)
    prepare_dataset("ode", data_settings(data, "ode"), 0, part)
    a, b = load_prepared(whole), load_prepared(part)
    assert all(torch.equal(a[k], b[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        data_settings(data, "nope")
