import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tests run the package from this checkout and the snakemake of the same environment.
sys.path.insert(0, str(REPO / "src"))
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("DEEPLIMITS_PROGRESS", "0")


@pytest.fixture
def repo() -> Path:
    return REPO
