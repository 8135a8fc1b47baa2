"""Logging to a file (the rule's log) and to stderr, and progress bars that CI can silence."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from tqdm.auto import tqdm


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def progress(iterable=None, *, enabled: bool = True, **kwargs):
    """A tqdm bar, off when `enabled` is false or DEEPLIMITS_PROGRESS=0 (as in CI)."""
    if os.environ.get("DEEPLIMITS_PROGRESS", "1") == "0":
        enabled = False
    return tqdm(iterable, disable=not enabled, mininterval=1.0, file=sys.stderr, **kwargs)
