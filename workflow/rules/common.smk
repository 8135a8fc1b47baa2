# Shared set-up: validate the config before any job runs; the run's plan (deeplimits.plan.Plan)
# answers every question a rule asks about files, so no file name is spelled here.
import json
import os
import shlex
import sys
from pathlib import Path

# The workflow reads the package of its own checkout (its registry above all), whichever
# deeplimits the running Python has installed.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from deeplimits.config import ConfigError, resolve
from deeplimits.plan import CELL_FILES, Plan, job_settings, experiment_settings
from deeplimits.registry import ANALYSES, PAPERS, figure_captions, paper_caption

try:
    CFG = resolve(config)
except ConfigError as err:
    raise WorkflowError(str(err))

SCALE = CFG["scale"]
REPO = Path(workflow.basedir)
# The authors' numbers: analyses get the path; notebooks get it relative to the checkout (they
# resolve it against deeplimits.config.REPO_ROOT), so an executed notebook's injected
# parameters name no path of the machine that ran it.
PLAN = Plan(CFG, reference_dir=str(REPO / "reference"))
ROOT = PLAN.root
TABLE = PLAN.table
LOGS = f"logs/{SCALE}"
NOTEBOOK_REFERENCE = "reference"
ENV = "../../envs/deeplimits.yaml"
NOTEBOOK_PAPERS = list(PAPERS)
CPU_ONLY = CFG["cpu_only"]
# Jobs import the package from this checkout, whichever Python runs them (the
# project's .venv, a conda env made by --sdm conda, or a cluster node's).
os.environ.update(PYTHONPATH=str(REPO / "src"))
# Progress bars follow the config (off in the ci profile). An environment variable,
# not a parameter of the rules, so turning bars off makes Snakemake rerun nothing.
os.environ.update(DEEPLIMITS_PROGRESS="1" if CFG["progress"] else "0")
# Likewise for CUDA graphs: how training runs, not what it computes.
os.environ.update(DEEPLIMITS_CUDA_GRAPH="1" if CFG["cuda_graph"] else "0")
CPU_TABLE_NOTE = "not in the CPU table: its paper scale needs a GPU"


def as_arg(obj):
    """A JSON value as one shell word: what rules pass to `python -m deeplimits`."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def one_job_settings(experiment, variant=""):
    """What one training cell computes from: its params leave out the grid. A sensitivity
    variant (`<variant>~<choice>=<value>`) changes its one declared choice."""
    return as_arg(job_settings(experiment, experiment_settings(CFG, experiment), variant))


def scale_root_of(name):
    """A params function: results/<scale>, two levels above output `name`."""
    return lambda w, output: str(Path(output[name]).parent.parent)
