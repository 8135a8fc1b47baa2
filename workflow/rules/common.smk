# Shared set-up: validate the config before any job runs, and the helpers rules use.
import json
import os
import re
import shlex
from pathlib import Path

from deeplimits.config import ConfigError, resolve
from deeplimits.plan import cells, experiment_settings, job_settings, sensitivity_cells, with_choice
from deeplimits.plan import sensitivity_names as plan_sensitivity_names

try:
    CFG = resolve(config)
except ConfigError as err:
    raise WorkflowError(str(err))

SCALE = CFG["scale"]
ROOT = f"{CFG['results_dir']}/{SCALE}"
LOGS = f"logs/{SCALE}"
REPO = Path(workflow.basedir)
# Jobs import the package from this checkout, whichever Python runs them (the
# project's .venv, a conda env made by --sdm conda, or a cluster node's).
os.environ.update(PYTHONPATH=str(REPO / "src"))
# The authors' numbers: analyses get the path; notebooks get it relative to the checkout (they
# resolve it against deeplimits.config.REPO_ROOT), so an executed notebook's injected
# parameters name no path of the machine that ran it.
REFERENCE = str(REPO / "reference")
NOTEBOOK_REFERENCE = "reference"
ENV = "../../envs/deeplimits.yaml"
NOTEBOOK_PAPERS = ["huang_zhang", "xu_zhang", "cont_rossier_xu", "thorpe_van_gennip"]
# Progress bars follow the config (off in the ci profile). An environment variable,
# not a parameter of the rules, so turning bars off makes Snakemake rerun nothing.
os.environ.update(DEEPLIMITS_PROGRESS="1" if CFG["progress"] else "0")
# Likewise for CUDA graphs: how training runs, not what it computes.
os.environ.update(DEEPLIMITS_CUDA_GRAPH="1" if CFG["cuda_graph"] else "0")


def as_arg(obj):
    """A JSON value as one shell word: what rules pass to `python -m deeplimits`."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def settings(experiment):
    return as_arg(experiment_settings(CFG, experiment))


def one_job_settings(experiment, variant=""):
    """What one training cell (or HZ.1 alpha) computes from: its params leave out the grid.
    A sensitivity variant (`<variant>~<choice>=<value>`) changes its one declared choice."""
    return as_arg(job_settings(experiment, experiment_settings(CFG, experiment), variant))


def sensitivity_names(experiment):
    """The sensitivity runs of an experiment (`<choice>=<value>`, and `main_to_<depth>` for the
    main setting over each smaller grid that `sensitivity_max_depth` sets)."""
    if experiment not in CFG["experiments"]:
        return []
    return plan_sensitivity_names(CFG["experiments"][experiment])


def sensitivity_dirs(experiment, name, dataset=None):
    return [f"{ROOT}/train/{c.path}" for c in sensitivity_cells(CFG, experiment, name, dataset)]


def cell_dirs(experiment, dataset=None):
    """The training cells of an experiment (of one dataset, when given)."""
    return [f"{ROOT}/train/{c.path}" for c in cells(CFG, experiment) if dataset in (None, c.dataset)]


def cell_outputs(experiment, name="weights.pt", dataset=None):
    return [f"{d}/{name}" for d in cell_dirs(experiment, dataset)]


def experiment_dataset(experiment):
    return f"{ROOT}/data/{CFG['experiments'][experiment]['dataset']}.pt"


# CRX.4 is measured per dataset. The ODE part is small (d = 10, 1024 samples per epoch) and
# runs on a CPU at paper scale; the MNIST part (60000 samples per epoch) needs a GPU.
CRX4_CPU_DATASETS = ("ode",)

# Claim files under ROOT, each with whether its paper scale fits a CPU (hours on 2 cores:
# no conv nets, no CIFAR-10 or MNIST): those make the `cpu_claims` table. XZ.3/XZ.4 train
# plain width-128 ReLU nets on Fashion-MNIST (about 1.5 hours for the 8 cells).
CLAIMS = {
    "huang_zhang/hz1/claim.json": False,
    "huang_zhang/hz2/claim.json": False,
    "huang_zhang/hz3/claim.json": False,
    "huang_zhang/hz4/claim.json": False,
    "xu_zhang/xz1/claim.json": True,
    "xu_zhang/xz2/claim.json": True,
    "xu_zhang/xz4/claim_xz3.json": True,
    "xu_zhang/xz4/claim_xz4.json": True,
    "cont_rossier_xu/crx1/claim_crx1.json": True,
    "cont_rossier_xu/crx1/claim_crx2.json": True,
    "cont_rossier_xu/crx3/claim.json": True,
} | {
    f"cont_rossier_xu/crx4/{ds}/claim.json": ds in CRX4_CPU_DATASETS
    for ds in CFG["experiments"]["crx4"]["datasets"]
} | {
    f"thorpe_van_gennip/{ds}/{name}": True
    for ds in CFG["experiments"]["tvg"]["datasets"]
    for name in ("tvg/claim_tvg1.json", "tvg/claim_tvg2.json", "tvg3/claim.json",
                 "tvg/claim_tvg4.json", "tvg/claim_tvg5.json")
}


CPU_TABLE_NOTE = "not in the CPU table: its paper scale needs a GPU"

# Parts of claims in the CPU table whose other parts are not: the table's note names them.
CPU_LEFT_OUT_PARTS = [f"CRX.4:{ds}" for ds in CFG["experiments"]["crx4"]["datasets"] if ds not in CRX4_CPU_DATASETS] + [
    f"HZ.1:alpha={a:g}" for a in CFG["experiments"]["hz1"]["alphas"]
    if a != CFG["experiments"]["hz1"]["reference_alpha"]
]


# Claim parts that stand in the CPU table for a claim whose whole paper scale needs a GPU:
# HZ.1 for the authors' alpha alone (their inputs, 82 minutes on 2 CPU cores per alpha).
CPU_PARTS = ["huang_zhang/hz1/reference_alpha/claim.json"]


def settings_with(experiment, run):
    """An analysis-only sensitivity run's settings: the experiment's with its one choice changed."""
    return as_arg(with_choice(experiment_settings(CFG, experiment), run))


# Claim parts with declared sensitivity choices (config: experiments.<key>.sensitivity):
# the table's path under ROOT (no extension) -> (the main claim file, its experiment, whether
# it is in the CPU table). Each run's claim file has the main one's name, in the main one's
# folder under sensitivity/<run>/.
SENSITIVITY_PARTS = {
    **{f"cont_rossier_xu/crx4/{ds}/sensitivity": (f"cont_rossier_xu/crx4/{ds}/claim.json", "crx4",
                                                  ds in CRX4_CPU_DATASETS)
       for ds in CFG["experiments"]["crx4"]["datasets"]},
    "huang_zhang/hz4/sensitivity": ("huang_zhang/hz4/claim.json", "hz4", False),
    "xu_zhang/xz2/sensitivity": ("xu_zhang/xz2/claim.json", "xz2", True),
    **{f"thorpe_van_gennip/{ds}/tvg/sensitivity_tvg{i}": (f"thorpe_van_gennip/{ds}/tvg/claim_tvg{i}.json", "tvg", True)
       for ds in CFG["experiments"]["tvg"]["datasets"] for i in (1, 2)},
}
SENSITIVITY_TABLES = {t: part for t, part in SENSITIVITY_PARTS.items() if sensitivity_names(part[1])}


def sensitivity_runs_of(table):
    main, experiment, _ = SENSITIVITY_TABLES[table]
    folder, name = str(Path(main).parent), Path(main).name
    return [f"{ROOT}/{folder}/sensitivity/{run}/{name}" for run in sensitivity_names(experiment)]


def sensitivity_files(cpu_only=False):
    """The sensitivity summaries the table's notes read (claim parts that declare choices)."""
    return [f"{ROOT}/{t}.json" for t, (_, _, on_cpu) in SENSITIVITY_TABLES.items() if on_cpu or not cpu_only]


def claim_files(cpu_only=False):
    if cpu_only:
        return [f"{ROOT}/{name}" for name, on_cpu in CLAIMS.items() if on_cpu] + [f"{ROOT}/{n}" for n in CPU_PARTS]
    return [f"{ROOT}/{name}" for name in CLAIMS]


def parent_of(name):
    """A params function: the folder of output `name` (lint: no hard-coded prefixes)."""
    return lambda w, output: str(Path(output[name]).parent)


def scale_root_of(name):
    """A params function: results/<scale>, two levels above output `name`."""
    return lambda w, output: str(Path(output[name]).parent.parent)
