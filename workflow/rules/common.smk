# Shared set-up: validate the config before any job runs, and the helpers rules use.
import json
import os
import shlex
from pathlib import Path

from deeplimits.config import ConfigError, resolve
from deeplimits.plan import cells, datasets_needed, experiment_settings

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
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
)
REFERENCE = str(REPO / "reference")
ENV = "../../envs/deeplimits.yaml"
NOTEBOOK_PAPERS = ["huang_zhang", "cont_rossier_xu"]
# Progress bars off when the config says so (the ci profile), and in log files.
PROGRESS_FLAG = "" if CFG["progress"] else "--no-progress"


def as_arg(obj):
    """A JSON value as one shell word: what rules pass to `python -m deeplimits`."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def settings(experiment):
    return as_arg(experiment_settings(CFG, experiment))


def cell_dirs(experiment):
    return [f"{ROOT}/train/{c.path}" for c in cells(CFG, experiment)]


def cell_outputs(experiment, name="weights.pt"):
    return [f"{d}/{name}" for d in cell_dirs(experiment)]
