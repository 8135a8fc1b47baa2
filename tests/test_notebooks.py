"""The notebook runner: kernels on private Unix sockets, and nothing left behind on failure."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from deeplimits.notebooks import run_notebook

# The kernel writes how it was connected: the transport and the socket folder.
REPORT = """
from ipykernel.connect import get_connection_info
info = get_connection_info(unpack=True)
open(out, "w").write(info["transport"] + " " + info["ip"])
"""


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_the_kernel_talks_over_unix_sockets_that_are_removed_afterwards(tmp_path):
    source = write_notebook(tmp_path / "report.ipynb", REPORT)
    out = tmp_path / "transport.txt"
    run_notebook(source, tmp_path / "run" / "report.ipynb", tmp_path / "run" / "report.html", {"out": str(out)})
    transport, ip = out.read_text().split()
    assert transport == "ipc"
    assert len(ip) < 90  # room for the "-<n>" suffix under the socket path limit
    assert not Path(ip).parent.exists()
    assert (tmp_path / "run" / "report.html").read_text().count("<html") == 1


def test_notebooks_started_together_all_run(tmp_path):
    """Four runners started at once, as the DAG does; each gets its own socket folder."""
    source = write_notebook(tmp_path / "report.ipynb", REPORT)
    code = ("import sys; from deeplimits.notebooks import run_notebook; "
            "run_notebook(sys.argv[1], sys.argv[2] + '.ipynb', sys.argv[2] + '.html', {'out': sys.argv[2] + '.txt'})")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(source), str(tmp_path / f"run{i}")],
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    ips = {(tmp_path / f"run{i}.txt").read_text().split()[1] for i in range(4)}
    assert len(ips) == 4


def test_a_failing_notebook_leaves_no_executed_copy(tmp_path):
    source = write_notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    executed = tmp_path / "run" / "bad.ipynb"
    with pytest.raises(Exception, match="boom"):
        run_notebook(source, executed, tmp_path / "run" / "bad.html", {})
    assert not executed.exists()
    assert list((tmp_path / "run").iterdir()) == []


def test_a_figure_the_notebook_did_not_draw_is_named(tmp_path):
    source = write_notebook(tmp_path / "nofig.ipynb", "x = 1")
    with pytest.raises(FileNotFoundError, match="never.png"):
        run_notebook(source, tmp_path / "run" / "nofig.ipynb", tmp_path / "run" / "nofig.html", {},
                     figures=[tmp_path / "never.png"])
    assert not (tmp_path / "run" / "nofig.ipynb").exists()
