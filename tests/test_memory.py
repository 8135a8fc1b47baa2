"""engine/memory.py: with freed memory kept, a step that allocates and frees the same
tensors again stops page-faulting them; without, glibc trims them back to the system."""

import platform
import subprocess
import sys

import pytest

# Each step: two 16 MiB tensors and one 8 MiB, touched, then freed (as a training step's
# gradients and temporaries are); prints the minor page faults of steps 5-10.
STEPS = """
import resource, sys, torch
from deeplimits.engine.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(10):
    before = faults()
    a, b, c = (torch.empty(n * 2**20).fill_(1.0) for n in (4, 4, 2))
    del a, b, c
    counts.append(faults() - before)
print(sum(counts[5:]))
"""


def _late_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_kept_memory_is_reused_without_page_faults():
    pages = 5 * 10 * 2**20 * 4 // 4096  # five steps of 40 MiB in 4 KiB pages
    assert _late_faults("plain") > pages // 2  # the baseline this fixes: every step faults again
    assert _late_faults("keep") < pages // 100

