"""Keep freed memory in the process for reuse (glibc malloc), so that training steps stop
page-faulting their tensors afresh.

A training step frees and allocates again the same few-megabyte tensors: gradients, the
optimiser's temporaries, the stack's workspaces. By default glibc hands blocks of that size
back to the kernel (mmap past a threshold that adapts up to 32 MiB, and a trim of the heap's
top), so the next step touches fresh pages: tens of thousands of minor page faults per few
training steps at d = 64, L = 64, a sizeable share of the step time (tests/test_memory.py
reads glibc's accounting of where a freed block goes).
A fixed mmap threshold at glibc's maximum (32 MiB) and no trimming keep those blocks; the
cost is that the process's resident memory stays at its peak, which a training job
reaches within its first steps anyway. Larger blocks (the stacks' pooled states) are
mmapped as before and reused by their own pool.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes a C int: 2 GiB of free heap top before a trim

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Sets the thresholds once per process; True where they are set (glibc), False where
    the C library is another one (nothing changes there)."""
    global _done
    if _done is None:
        _done = _set_thresholds()
    return _done


def _set_thresholds() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not ok:
        log.warning("mallopt refused the thresholds; freed memory goes back to the system as before")
    return ok
