"""Run a parameterised notebook with papermill and export the executed copy to HTML."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .io import write_text

log = logging.getLogger(__name__)

# jupyter_client's words for a kernel process that exited before its first reply.
KERNEL_DIED_AT_START = "Kernel died before replying to kernel_info"
KERNEL_STARTS = 3


_TABLES = itertools.count()


def show_table(frame, title: str) -> None:
    """In a notebook: a table under its title, as a reader reads it: no positional index (a
    grouped table's keys become columns), empty cells where a value is missing, numbers to
    four significant digits."""
    import html

    import pandas as pd
    from IPython.display import HTML, display

    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):  # e.g. agg(["mean", "min", "max"]): "slope mean"
        frame.columns = [" ".join(str(p) for p in col if str(p)) for col in frame.columns]
    name = f"deeplimits-table-{next(_TABLES)}"  # the style below is this table's alone
    body = frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0, classes=name)
    # Text columns read from the left (the notebook's style right-aligns every cell; numbers keep that).
    text = [i + 1 for i, c in enumerate(frame.columns) if not pd.api.types.is_numeric_dtype(frame[c])]
    style = "".join(f".{name} td:nth-child({k}), .{name} th:nth-child({k}) "
                    "{text-align: left !important}" for k in text)
    display(HTML(f"<style>{style}</style><p><b>{html.escape(title)}</b></p>{body}"))


def has_result(results, claim_id: str, dataset: str = "") -> bool:
    """In a notebook: whether the results (registry.Results) hold the claim's file (for a
    CPU-only run, its CPU part); if not, say so under the cell (a run that left it out, or
    results rendered before it ran)."""
    from IPython.display import Markdown, display

    from .claims import EARLIER
    from .registry import CLAIMS, analysis_of, claim_output

    c, cpu_only = CLAIMS[claim_id], results.cpu_only
    analysis = c.cpu_parts[0] if cpu_only and c.cpu_parts and not analysis_of(c.analysis).cpu else c.analysis
    on_cpu = analysis_of(analysis).runs_on_cpu(dataset or None)
    # Every text output the cell may read (a result of an earlier design lacks some).
    texts = [p for p in results.outputs(analysis, dataset=dataset).values()
             if p.suffix in (".csv", ".json") and "{alpha}" not in str(p)]
    claim_file = results.root / claim_output(c, analysis).format(dataset=dataset)
    if (not cpu_only or on_cpu) and all(p.exists() for p in texts) and claim_file.exists():
        if json.loads(claim_file.read_text()).get("design", EARLIER) == c.design:
            return True
    part = f" [{dataset}]" if dataset else ""
    display(Markdown(f"*{claim_id}{part}: not in these results (its scale needs a GPU, it has not run yet, or "
                     "these results ran an earlier design of it).*"))
    return False


def kernel_on_ipc(sockets: str | Path):
    """Kernel config: talk over Unix sockets in the folder `sockets`, not TCP ports.

    With TCP, jupyter_client picks five free ports, closes them and lets the kernel bind
    them half a second later; when two notebooks start together (the DAG runs them in
    parallel), a port taken in between (another kernel's, or any outgoing connection's)
    kills the kernel at start ("Kernel died before replying to kernel_info", seen in CI).
    A socket file in a folder of its own cannot be taken. The folder is a short temporary
    one because a socket path must stay under about 100 characters."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}})


def reader_view(nb):
    """The executed notebook as a reader sees it (the HTML): one parameters cell. Papermill
    keeps the notebook's defaults (tagged `parameters`) and adds the run's values after them
    (`injected-parameters`); the .ipynb keeps both, the HTML only the values that ran."""
    tags = [set(cell.get("metadata", {}).get("tags", [])) for cell in nb.cells]
    if any("injected-parameters" in t for t in tags):
        nb.cells = [cell for cell, t in zip(nb.cells, tags) if "parameters" not in t]
    return nb


def run_notebook(source: str | Path, executed: str | Path, html: str | Path, parameters: dict,
                 figures=()) -> None:
    """`figures`: the files the notebook must draw (the registry's figures of its claims);
    a missing one is an error that names it."""
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    executed = Path(executed)
    executed.parent.mkdir(parents=True, exist_ok=True)
    # Executed into a scratch folder first: a notebook that fails half-way is never
    # left where the pipeline would take it as done. Relative paths inside the
    # notebook resolve against the pipeline's working directory, like the config's.
    with tempfile.TemporaryDirectory(dir=executed.parent, prefix=".papermill-") as scratch:
        tmp = Path(scratch) / executed.name
        for attempt in range(1, KERNEL_STARTS + 1):
            try:
                with tempfile.TemporaryDirectory(prefix="deeplimits-kernel-") as sockets:
                    pm.execute_notebook(
                        str(source), str(tmp), parameters=parameters, kernel_name="python3", cwd=os.getcwd(),
                        progress_bar=False, log_output=False, config=kernel_on_ipc(sockets),
                    )
                break
            except RuntimeError as err:
                # Only a kernel that never answered is started again: no cell has run.
                if not str(err).startswith(KERNEL_DIED_AT_START) or attempt == KERNEL_STARTS:
                    raise
                log.warning("%s: the kernel died at start (attempt %d of %d); starting a fresh one",
                            source, attempt, KERNEL_STARTS)
        missing = [str(f) for f in figures if not Path(f).exists()]
        if missing:
            raise FileNotFoundError(f"notebook {source} did not draw {', '.join(missing)}")
        shutil.move(str(tmp), executed)
    body, _ = HTMLExporter().from_notebook_node(reader_view(nbformat.read(executed, as_version=4)))
    write_text(html, body)
    log.info("executed %s -> %s, %s", source, executed, html)
