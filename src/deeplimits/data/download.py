"""Fetch files from an ordered list of mirrors, verify checksums, extract safely.

A mirror is an http(s) URL or a file:// folder. Each file is fetched to a temporary
name beside its destination and renamed only after its MD5 matches, so an
interrupted or corrupted download is never mistaken for a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..io import atomic_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch. `content_md5`, for a .gz file, is the MD5 of its decompressed
    bytes: a mirror that recompressed the same data (Debian's Fashion-MNIST does)
    still passes on content."""

    name: str
    md5: str
    content_md5: str | None = None


@dataclass
class MirrorFailure:
    mirror: str
    file: str
    reason: str


class DownloadError(RuntimeError):
    """Every mirror failed for a dataset; the message lists each attempt."""

    def __init__(self, dataset: str, failures: list[MirrorFailure], hint: str = ""):
        self.dataset = dataset
        self.failures = failures
        lines = [f"could not download dataset '{dataset}': every mirror failed"]
        lines += [f"  - {f.mirror} ({f.file}): {f.reason}" for f in failures]
        lines += [hint] if hint else []
        super().__init__("\n".join(lines))


class ChecksumError(RuntimeError):
    pass


class UnsafeArchiveError(RuntimeError):
    pass


@dataclass
class FetchReport:
    """Where each file came from, for the dataset's provenance."""

    sources: dict[str, str] = field(default_factory=dict)
    failures: list[MirrorFailure] = field(default_factory=list)


def md5sum(path: str | os.PathLike) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_files(
    dataset: str,
    files: list[RemoteFile],
    mirrors: list[str],
    dest: str | os.PathLike,
    timeout_s: float = 30.0,
) -> FetchReport:
    """Make every file of `files` present in `dest` with the right MD5.

    Files already there with the right checksum are kept. For each missing file the
    mirrors are tried in order; any failure (HTTP error, timeout, wrong checksum)
    moves on to the next. Raises DownloadError naming every attempt if a file
    cannot be had from any mirror.
    """
    if not mirrors:
        raise DownloadError(dataset, [MirrorFailure("(none)", "-", "no mirrors configured")])
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = FetchReport()
    order = list(mirrors)
    for remote in files:
        target = dest / remote.name
        origin = dest / f".{remote.name}.source"
        if target.exists() and _verifies(target, remote):
            where = origin.read_text().strip() if origin.exists() else "unknown"
            report.sources[remote.name] = f"cache (from {where})"
            continue
        attempts: list[MirrorFailure] = []
        for mirror in list(order):
            url = _join(mirror, remote.name)
            try:
                with atomic_path(target) as tmp:
                    _copy_url(url, tmp, timeout_s)
                    verify(tmp, remote)
                report.sources[remote.name] = url
                origin.write_text(url + "\n")
                log.info("fetched %s from %s", remote.name, url)
                break
            except Exception as err:  # noqa: BLE001 - any failure means: try the next mirror
                reason = _reason(err)
                log.warning("mirror %s failed for %s: %s", mirror, remote.name, reason)
                attempts.append(MirrorFailure(mirror, remote.name, reason))
                # A mirror that failed once is tried last for the remaining files.
                order.remove(mirror)
                order.append(mirror)
        else:
            report.failures += attempts
            raise DownloadError(dataset, attempts)
        report.failures += attempts
    return report


def verify(path: Path, remote: RemoteFile) -> str:
    """Return how `path` was verified against `remote`, or raise ChecksumError."""
    got = md5sum(path)
    if got == remote.md5:
        return "md5"
    if remote.content_md5 and remote.name.endswith(".gz"):
        digest = hashlib.md5()
        try:
            with gzip.open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    digest.update(chunk)
        except (OSError, EOFError) as err:
            raise ChecksumError(f"checksum mismatch: md5 {got}, and not a readable gzip file ({err})") from err
        if digest.hexdigest() == remote.content_md5:
            return "content md5"
        raise ChecksumError(
            f"checksum mismatch: md5 {got} (expected {remote.md5}), decompressed md5 "
            f"{digest.hexdigest()} (expected {remote.content_md5})"
        )
    raise ChecksumError(f"checksum mismatch: md5 {got}, expected {remote.md5}")


def _verifies(path: Path, remote: RemoteFile) -> bool:
    try:
        verify(path, remote)
        return True
    except ChecksumError:
        return False


def _join(mirror: str, name: str) -> str:
    return mirror if mirror.endswith(name) else mirror.rstrip("/") + "/" + name


def _copy_url(url: str, out: Path, timeout_s: float) -> None:
    scheme = urllib.parse.urlparse(url).scheme
    if scheme == "file":
        src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if not src.is_file():
            raise FileNotFoundError(f"no such file {src}")
        shutil.copyfile(src, out)
        return
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported mirror scheme {scheme!r} (use http, https or file)")
    deadline = time.monotonic() + 20 * timeout_s
    request = urllib.request.Request(url, headers={"User-Agent": "deeplimits"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response, open(out, "wb") as fh:
        # The socket timeout bounds each read; the deadline bounds a server that
        # trickles bytes forever.
        while chunk := response.read(CHUNK):
            fh.write(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError(f"download exceeded {20 * timeout_s:.0f} s")


def _reason(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"{type(err.reason).__name__}: {err.reason}"
    if isinstance(err, (TimeoutError, OSError)) and "timed out" in str(err):
        return f"timed out: {err}"
    return f"{type(err).__name__}: {err}"


def gunzip(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    with gzip.open(src, "rb") as fin, atomic_path(dest) as tmp, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout)


def safe_extract_tar(archive: str | os.PathLike, dest: str | os.PathLike) -> list[Path]:
    """Extract a tar archive, refusing any member that would land outside `dest`.

    Links and device files are refused too: a symlink inside the archive could point
    a later member outside the folder.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            target = (dest / member.name).resolve()
            if target != dest and dest not in target.parents:
                raise UnsafeArchiveError(
                    f"archive {archive} has a member outside the target folder: {member.name!r}"
                )
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(
                    f"archive {archive} has a link or special file: {member.name!r}"
                )
        for member in members:
            target = dest / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            with atomic_path(target) as tmp, open(tmp, "wb") as fh:
                shutil.copyfileobj(src, fh)
            written.append(target)
    return written
