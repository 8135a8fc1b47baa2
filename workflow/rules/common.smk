# Shared set-up: validate the config before any job runs, and the helpers rules use.
import json
import os
import re
import shlex
import sys
from pathlib import Path

# The workflow reads the package of its own checkout (its registry above all), whichever
# deeplimits the running Python has installed.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from deeplimits.config import ConfigError, resolve
from deeplimits.plan import CELL_FILES, cells, experiment_settings, job_settings, sensitivity_cells, with_choice
from deeplimits.plan import sensitivity_names as plan_sensitivity_names
from deeplimits.registry import ANALYSES, CLAIMS, PAPERS, REFERENCES, claim_output, paper_caption, paper_figures
from deeplimits.registry import sensitivity_run, sensitivity_table
from deeplimits.snapshot import SUFFIXES as SNAPSHOT_SUFFIXES

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
NOTEBOOK_PAPERS = list(PAPERS)
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


def cell_outputs(experiment, name=CELL_FILES["weights"], dataset=None):
    return [f"{d}/{name}" for d in cell_dirs(experiment, dataset)]


def experiment_dataset(experiment):
    return f"{ROOT}/data/{CFG['experiments'][experiment]['dataset']}.pt"


# ---------------------------------------------------------------- from the claim registry
# Every analysis's outputs, every claim's file, the CPU table's parts and the sensitivity
# tables come from deeplimits.registry; no file name of an analysis is spelled here.


def outputs_of(analysis, run=None):
    """An analysis's outputs under ROOT, named as in the registry; a sensitivity run's in
    sensitivity/<run>/ beside each of them."""
    return {k: f"{ROOT}/{sensitivity_run(v, run) if run else v}" for k, v in ANALYSES[analysis].outputs.items()}


def _paths(files):
    return files if isinstance(files, str) else list(files)


def analyse_params(analysis, settings_of=None, label="", torch_threads=0):
    """What each analysis job passes to `python -m deeplimits analyse` (see ANALYSE): the
    analysis's name, its settings, its named inputs and outputs as JSON, scale, seed, label
    (a string or a function of the wildcards), torch's thread count (0: torch's default)."""
    return dict(
        torch_threads=torch_threads,
        analysis=analysis,
        settings=settings_of or settings(ANALYSES[analysis].experiment),
        inputs=lambda w, input: as_arg({k: _paths(v) for k, v in input.items()}),
        outputs=lambda w, output: as_arg(dict(output.items())),
        scale=SCALE,
        seed=CFG["seed"],
        label=label,
        device=CFG["device"],
    )


ANALYSE = (
    "python -m deeplimits --log {log} --threads {params.torch_threads} analyse {params.analysis} --settings {params.settings} "
    "--inputs {params.inputs} --outputs {params.outputs} --scale {params.scale} --seed {params.seed} "
    "--label '{params.label}' --device {params.device}"
)


def datasets_of(analysis):
    """The datasets of a per-dataset analysis (its experiment's), else [None]."""
    a = ANALYSES[analysis]
    return list(CFG["experiments"][a.experiment]["datasets"]) if a.per_dataset else [None]


def claim_parts(claim):
    """(path under ROOT, dataset) of each file of a claim."""
    pattern = claim_output(claim)
    return [(pattern.format(dataset=ds), ds) for ds in datasets_of(claim.analysis)]


def claim_files(cpu_only=False):
    """Every claim's files; with cpu_only, those whose paper scale fits a CPU (hours on 2
    cores: no conv nets, no CIFAR-10 or MNIST), with a claim's CPU parts standing in for a
    claim that needs a GPU (HZ.1: the authors' alpha alone). With figures_only, those that
    exist (see pending_claims)."""
    wanted = _claim_files(cpu_only)
    return [f for f in wanted if Path(f).exists()] if FIGURES_ONLY else wanted


def pending_claims(cpu_only=False):
    """Claims (`CLAIM`, or `CLAIM:DATASET` for one part) of the table with no result yet
    (figures_only): their rows say so."""
    missing = [f for f in _claim_files(cpu_only) if not Path(f).exists()] if FIGURES_ONLY else []
    return sorted({part for f in missing for part in [_claim_part_of(f)] if part})


def _claim_part_of(path):
    for c in CLAIMS.values():
        for part in (c.analysis, *c.cpu_parts):
            pattern = re.escape(f"{ROOT}/{claim_output(c, part)}").replace(re.escape("{dataset}"), "(?P<ds>[^/]+)")
            m = re.fullmatch(pattern, path)
            if m:
                return f"{c.id}:{m.group('ds')}" if "ds" in m.groupdict() else c.id
    return None


def _claim_files(cpu_only=False):
    out = []
    for c in CLAIMS.values():
        a = ANALYSES[c.analysis]
        for path, ds in claim_parts(c):
            if not cpu_only or a.runs_on_cpu(ds):
                out.append(f"{ROOT}/{path}")
        if cpu_only and not a.cpu:
            out += [f"{ROOT}/{claim_output(c, part)}" for part in c.cpu_parts]
    return out


CPU_TABLE_NOTE = "not in the CPU table: its paper scale needs a GPU"


def cpu_left_out_parts():
    """Parts of claims in the CPU table whose other parts are not: the table's note names them
    (a dataset that needs a GPU; HZ.1's alphas other than the authors')."""
    out = []
    for c in CLAIMS.values():
        a = ANALYSES[c.analysis]
        if a.cpu and a.per_dataset:
            out += [f"{c.id}:{ds}" for _, ds in claim_parts(c) if not a.runs_on_cpu(ds)]
        elif c.cpu_parts:
            hz1 = CFG["experiments"][a.experiment]
            out += [f"{c.id}:alpha={x:g}" for x in hz1["alphas"] if x != hz1["reference_alpha"]]
    return out


def settings_with(experiment, run):
    """An analysis-only sensitivity run's settings: the experiment's with its one choice changed."""
    return as_arg(with_choice(experiment_settings(CFG, experiment), run))


# Claim parts with declared sensitivity choices (config: experiments.<key>.sensitivity, for
# the claims the registry marks): the table's path under ROOT (no extension) -> (the main
# claim file, its experiment, whether it is in the CPU table). Each run's claim file has the
# main one's name, in the main one's folder under sensitivity/<run>/.
SENSITIVITY_TABLES = {
    sensitivity_table(c).format(dataset=ds): (path, ANALYSES[c.analysis].experiment, ANALYSES[c.analysis].runs_on_cpu(ds))
    for c in CLAIMS.values() if c.sensitivity and sensitivity_names(ANALYSES[c.analysis].experiment)
    for path, ds in claim_parts(c)
}


def sensitivity_runs_of(table):
    main, experiment, _ = SENSITIVITY_TABLES[table]
    return [f"{ROOT}/{sensitivity_run(main, run)}" for run in sensitivity_names(experiment)]


def sensitivity_files(cpu_only=False):
    """The sensitivity summaries the table's notes read (claim parts that declare choices;
    with figures_only, those that exist)."""
    files = [f"{ROOT}/{t}.json" for t, (_, _, on_cpu) in SENSITIVITY_TABLES.items() if on_cpu or not cpu_only]
    return [f for f in files if Path(f).exists()] if FIGURES_ONLY else files


CPU_ONLY = CFG["cpu_only"]
CPU_PART_ANALYSES = {part for c in CLAIMS.values() for part in c.cpu_parts}
# The replication table of this run: every claim, or (cpu_only) the CPU table.
TABLE = f"{ROOT}/replication/claims_cpu" if CPU_ONLY else f"{ROOT}/replication/claims"


FIGURES_ONLY = CFG["figures_only"]


def in_this_run(analysis, dataset=None):
    """Whether the run's notebooks and table include an analysis (for a dataset): all of
    them, or with cpu_only those that fit a CPU, with a claim's CPU parts in place of it;
    with figures_only, only those whose results exist (nothing is planned to make them).
    A per-dataset analysis without a dataset: whether it is in for any of its datasets."""
    a = ANALYSES[analysis]
    if a.per_dataset and dataset is None:
        return any(in_this_run(analysis, ds) for ds in datasets_of(analysis))
    if CPU_ONLY:
        included = a.runs_on_cpu(dataset)
    else:
        included = a.name not in CPU_PART_ANALYSES
    if included and FIGURES_ONLY:
        return all(Path(f"{ROOT}/{v.format(dataset=dataset)}").exists() for v in a.outputs.values()
                   if v.endswith(SNAPSHOT_SUFFIXES) and "{alpha}" not in v)
    return included


def paper_inputs(paper):
    """What a paper's notebook reads: every output of its analyses in this run (per
    dataset), and its sensitivity tables."""
    out = []
    for a in ANALYSES.values():
        if a.paper != paper or "{alpha}" in str(a.outputs):
            continue
        # Notebooks read text outputs only (CSV, JSON), so a results snapshot can re-render them.
        out += [f"{ROOT}/{v.format(dataset=ds)}" for ds in datasets_of(a.name) if in_this_run(a.name, ds)
                for v in a.outputs.values() if v.endswith(SNAPSHOT_SUFFIXES)]
    tables = [f"{ROOT}/{t}.csv" for t, (_, _, on_cpu) in SENSITIVITY_TABLES.items()
              if t.startswith(f"{paper}/") and (on_cpu or not CPU_ONLY)]
    return out + ([t for t in tables if Path(t).exists()] if FIGURES_ONLY else tables)


def paper_datasets(paper):
    """The datasets of a paper's per-dataset analyses in this run (what its notebook loops over)."""
    return list(dict.fromkeys(ds for a in ANALYSES.values() if a.paper == paper and a.per_dataset
                              for ds in datasets_of(a.name) if in_this_run(a.name, ds)))


def experiment_datasets():
    """experiment -> its datasets in this run, for the per-dataset analyses' experiments."""
    return {a.experiment: [ds for ds in datasets_of(a.name) if in_this_run(a.name, ds)]
            for a in ANALYSES.values() if a.per_dataset}


def notebook_figures(paper):
    """The figures a paper's notebook must draw: those of its claims in this run."""
    claims = [c.id for c in CLAIMS.values() if c.paper == paper
              and any(in_this_run(name) for name in (c.analysis, *c.cpu_parts))]
    return " ".join(f"{ROOT}/{f}" for f in paper_figures(paper, experiment_datasets(), claims))


def cell_in_this_run(cell):
    return any(in_this_run(a.name, cell.dataset) for a in ANALYSES.values() if a.experiment == cell.experiment)


# The experiments with training cells (their provenance records go into the run's).
TRAINED = [e for e in CFG["experiments"] if cells(CFG, e)]


def run_cell_provenance():
    """The provenance records of this run's training cells (sensitivity runs included)."""
    dirs = [c for e in TRAINED for c in cells(CFG, e)]
    dirs += [c for e in TRAINED for name in sensitivity_names(e) if "=" in name
             for c in sensitivity_cells(CFG, e, name)]
    return [f"{ROOT}/train/{c.path}/{CELL_FILES['provenance']}" for c in dirs if cell_in_this_run(c)]


def tvg_inputs(run=None):
    """What tvg_claims reads: tvg_solve's and tvg_continuum's outputs (of a sensitivity run)."""
    solve, continuum = (outputs_of(a, run) for a in ("tvg_solve", "tvg_continuum"))
    return dict(objectives=solve["objectives"], solutions=solve["solutions"],
                continuum=continuum["summary"], continuum_model=continuum["model"])


def crx4_features(w):
    """The MNIST features' prepared file: its note names the stand-in that ran."""
    return [f"{ROOT}/data/mnist_features.pt"] if w.dataset == "mnist_features" else []


def reference(name):
    return f"{REFERENCE}/{REFERENCES[name]}"


def scale_root_of(name):
    """A params function: results/<scale>, two levels above output `name`."""
    return lambda w, output: str(Path(output[name]).parent.parent)
