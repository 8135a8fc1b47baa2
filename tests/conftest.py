import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# Tests run the package from this checkout and the snakemake of the same environment.
sys.path.insert(0, str(REPO / "src"))
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("DEEPLIMITS_PROGRESS", "0")
# Without a GPU the Triton kernels can run only in Triton's interpreter, which must be
# chosen before triton is first imported (it decorates its own library functions then).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def repo() -> Path:
    return REPO
