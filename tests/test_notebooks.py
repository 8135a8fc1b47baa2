"""The notebook runner: kernels on private Unix sockets, and nothing left behind on failure."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from deeplimits.notebooks import KERNEL_DIED_AT_START, KERNEL_STARTS, run_notebook

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
    code = ("import sys; from deeplimits.notebooks import KERNEL_DIED_AT_START, KERNEL_STARTS, run_notebook; "
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


def kernel_that_dies(tmp_path, monkeypatch, times: int) -> Path:
    """Make "python3" a kernel that exits at once on its first `times` starts, then runs
    ipykernel; each start appends a line to the returned file."""
    starts = tmp_path / "starts.txt"
    script = (f'echo start >> {starts}; [ "$(wc -l < {starts})" -gt {times} ] || exit 1; '
              f'exec {sys.executable} -m ipykernel_launcher -f "$0"')
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": ["bash", "-c", script, "{connection_file}"], "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return starts


def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, monkeypatch, caplog):
    starts = kernel_that_dies(tmp_path, monkeypatch, times=1)
    source = write_notebook(tmp_path / "report.ipynb", REPORT)
    out = tmp_path / "transport.txt"
    with caplog.at_level(logging.WARNING, logger="deeplimits.notebooks"):
        run_notebook(source, tmp_path / "run" / "report.ipynb", tmp_path / "run" / "report.html", {"out": str(out)})
    assert starts.read_text().count("start") == 2
    assert out.read_text().startswith("ipc ")
    assert "died at start (attempt 1 of 3)" in caplog.text


def test_a_kernel_that_never_starts_fails_after_three_starts(tmp_path, monkeypatch):
    starts = kernel_that_dies(tmp_path, monkeypatch, times=99)
    source = write_notebook(tmp_path / "report.ipynb", REPORT)
    with pytest.raises(RuntimeError, match=KERNEL_DIED_AT_START):
        run_notebook(source, tmp_path / "run" / "report.ipynb", tmp_path / "run" / "report.html", {"out": "x"})
    assert starts.read_text().count("start") == KERNEL_STARTS
    assert list((tmp_path / "run").iterdir()) == []


def test_a_failing_cell_is_not_run_again(tmp_path, monkeypatch):
    starts = kernel_that_dies(tmp_path, monkeypatch, times=0)
    source = write_notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    with pytest.raises(Exception, match="boom"):
        run_notebook(source, tmp_path / "run" / "bad.ipynb", tmp_path / "run" / "bad.html", {})
    assert starts.read_text().count("start") == 1


def test_the_reader_sees_one_parameters_cell():
    """Papermill keeps the defaults (tagged `parameters`) and adds the run's values
    (`injected-parameters`): the HTML shows the values that ran, once; a notebook run
    without injected values keeps its defaults."""
    from deeplimits.notebooks import reader_view

    def cell(source, *tags):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["tags"] = list(tags)
        return c

    nb = nbformat.v4.new_notebook()
    nb.cells = [cell("scale = 'smoke'", "parameters"), cell("scale = 'quick'", "injected-parameters"), cell("x = 1")]
    assert [c.source for c in reader_view(nb).cells] == ["scale = 'quick'", "x = 1"]
    nb.cells = [cell("scale = 'smoke'", "parameters"), cell("x = 1")]
    assert [c.source for c in reader_view(nb).cells] == ["scale = 'smoke'", "x = 1"]
