"""engine/memory.py: with freed memory kept, a block of a training step's size comes from
the heap and stays there when freed, ready for the next step; without, glibc maps it
afresh and hands it back (so the next step page-faults it in again). Read from glibc's own
accounting (mallinfo2) in a fresh process for each case."""

import platform
import subprocess
import sys

import pytest

# Allocates and frees one 30 MiB tensor; prints the mmapped blocks it added while alive and
# the heap's free bytes (MiB) after the free.
STEP = """
import ctypes, sys, torch
from deeplimits.engine.memory import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = libc.mallinfo2()
block = torch.empty(30 * 2**20 // 4).fill_(1.0)
alive = libc.mallinfo2()
del block
print(alive.hblks - before.hblks, libc.mallinfo2().fordblks >> 20)
"""


def _step(mode: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", STEP, mode], capture_output=True, text=True, check=True)
    mapped, free_mib = done.stdout.split()[-2:]
    return int(mapped), int(free_mib)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_a_freed_block_stays_in_the_heap_for_the_next_step():
    mapped, free_mib = _step("plain")
    assert mapped == 1 and free_mib < 30  # the baseline: mapped for itself, returned on free
    mapped, free_mib = _step("keep")
    assert mapped == 0 and free_mib >= 30
