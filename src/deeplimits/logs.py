"""Logging to a file (the rule's log) and to stderr, and progress bars that CI can silence."""

from __future__ import annotations

import logging
import os
import sys
import time
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


# With the bars off, a long loop still reports: a log line at most this often.
LOG_EVERY_S = 60.0


def progress(iterable=None, *, enabled: bool = True, log_lines: bool = True, **kwargs):
    """A tqdm bar, off when `enabled` is false or DEEPLIMITS_PROGRESS=0 (as in CI and the
    paper runs). Off, a loop with a `desc` logs how far it is instead, at most every
    LOG_EVERY_S seconds (a rule's log then shows progress on long work); `log_lines=False`
    for a caller that logs its own (the trainer)."""
    if os.environ.get("DEEPLIMITS_PROGRESS", "1") == "0":
        enabled = False
    bar = tqdm(iterable, disable=not enabled, mininterval=1.0, file=sys.stderr, **kwargs)
    if enabled or not log_lines or not kwargs.get("desc") or iterable is None:
        return bar
    return _logged(bar, kwargs["desc"], kwargs.get("unit", "it"), kwargs.get("total") or _length(iterable),
                   kwargs.get("initial", 0))


def _length(iterable) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None


def _logged(iterable, desc: str, unit: str, total: int | None, initial: int = 0):
    # `initial`: a loop resumed from a checkpoint counts from where it resumed, as tqdm's bar does
    log = logging.getLogger("deeplimits.progress")
    t0 = last = time.monotonic()
    done = initial
    for item in iterable:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= LOG_EVERY_S:
            last = now
            log.info("%s: %d%s %s(s) done, %.0f s", desc, done, f" of {total}" if total else "", unit, now - t0)
