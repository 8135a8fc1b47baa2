"""Small files in the real formats of the downloadable datasets, and a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from deeplimits.data.download import RemoteFile
from deeplimits.data.registry import DownloadSpec

MNIST_NAMES = {
    "train-images-idx3-ubyte.gz": ("images", 12),
    "train-labels-idx1-ubyte.gz": ("labels", 12),
    "t10k-images-idx3-ubyte.gz": ("images", 5),
    "t10k-labels-idx1-ubyte.gz": ("labels", 5),
}


def idx_bytes(kind: str, n: int, rng) -> bytes:
    if kind == "images":
        data = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        header = struct.pack(">IIII", 0x00000803, n, 28, 28)
    else:
        data = rng.integers(0, 10, size=(n,), dtype=np.uint8)
        header = struct.pack(">II", 0x00000801, n)
    return header + data.tobytes()


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


def mnist_like(seed: int = 0):
    """(files: name -> gz bytes, spec) for a tiny MNIST in the real gzipped IDX format."""
    rng = np.random.default_rng(seed)
    files = {name: gzip.compress(idx_bytes(kind, n, rng), mtime=0) for name, (kind, n) in MNIST_NAMES.items()}
    spec = DownloadSpec(
        name="mnist", kind="idx",
        files=tuple(RemoteFile(name, md5(blob)) for name, blob in files.items()),
        torchvision_class="MNIST", classes=tuple(str(i) for i in range(10)),
    )
    return files, spec


def cifar_like(seed: int = 0, n_per_batch: int = 4):
    """(files: {archive name: bytes}, spec) for a tiny CIFAR-10 python tarball."""
    rng = np.random.default_rng(seed)
    members, inner_train, inner_test = {}, [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, size=n_per_batch).tolist()}
        blob = pickle.dumps(entry)
        members[name] = blob
        (inner_test if name == "test_batch" else inner_train).append((name, md5(blob)))
    meta_blob = pickle.dumps({"label_names": [f"class{i}" for i in range(10)]})
    members["batches.meta"] = meta_blob
    archive = tar_bytes({f"cifar-10-batches-py/{k}": v for k, v in members.items()})
    spec = DownloadSpec(
        name="cifar10", kind="cifar",
        files=(RemoteFile("cifar-10-python.tar.gz", md5(archive)),),
        torchvision_class="CIFAR10", classes=tuple(f"class{i}" for i in range(10)),
        inner_train=tuple(inner_train), inner_test=tuple(inner_test),
        inner_meta=(("filename", "batches.meta"), ("key", "label_names"), ("md5", md5(meta_blob))),
        base_folder="cifar-10-batches-py",
    )
    return {"cifar-10-python.tar.gz": archive}, spec


def tar_bytes(members: dict, links: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


class Server:
    """Routes: /good/<f> serves files; /corrupt/<f> serves them with a flipped byte;
    /missing/<f> answers 404; /hang/<f> accepts and never answers (until shutdown)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.release = threading.Event()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                _, route, name = self.path.split("/", 2)
                if route == "hang":
                    outer.release.wait(timeout=10)
                    return
                if route == "missing" or name not in outer.files:
                    self.send_error(404, "Not Found")
                    return
                body = outer.files[name]
                if route == "corrupt":
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(files):
    with Server(files) as server:
        yield server
