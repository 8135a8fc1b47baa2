"""What the pipeline runs for a resolved config: its training cells, their settings, and
every analysis job's inputs, outputs and settings (`Plan`, from the registry).

The Snakefile asks this module for its targets and every rule's files, so the DAG and the
package agree on paths, and the plan is testable without Snakemake.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .costs import cell_cost
from .experiments import EVERY_JOB, EXPERIMENTS, experiment_of
from .registry import (
    ANALYSES,
    CLAIMS,
    EARLIER_DESIGN,
    REFERENCES,
    Analysis,
    Cells,
    Claim,
    Data,
    Output,
    Reference,
    analysis_of,
    claim_figures,
    claim_output,
    sensitivity_path,
    sensitivity_run,
)
from .snapshot import SUFFIXES as SNAPSHOT_SUFFIXES

# The files of a cell folder (the train rule's outputs); the checkpoint stays beside them
# while training runs and is not an output, so an interrupted job resumes from it.
CELL_FILES = {"weights": "weights.pt", "metrics": "metrics.csv", "provenance": "provenance.json"}
CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class Cell:
    """One training job: every seed of (experiment, dataset, variant, depth)."""

    experiment: str
    dataset: str
    variant: str
    depth: int

    @property
    def path(self) -> str:
        return f"{self.experiment}/{self.dataset}/{self.variant}/L{self.depth}"

    @property
    def base_variant(self) -> str:
        """The variant without a sensitivity run's `~<choice>=<value>` (what the model is)."""
        return base_variant(self.variant)


def base_variant(variant: str) -> str:
    return variant.split("~", 1)[0]


def parse_alpha(variant: str) -> float:
    if not variant.startswith("a"):
        raise ValueError(f"not an alpha variant: {variant!r}")
    return float(variant[1:])


def cells(cfg: dict, experiment: str | None = None) -> list[Cell]:
    """The training cells of a resolved config (of one experiment, when given)."""
    return [Cell(e.key, ds, variant, depth) for e in EXPERIMENTS.values()
            if e.key in cfg["experiments"] and experiment in (None, e.key)
            for ds, variant, depth in e.cells(cfg["experiments"][e.key])]


def experiment_settings(cfg: dict, experiment: str) -> dict:
    """The settings that determine an experiment's results (what Snakemake watches)."""
    return {"seed": cfg["seed"], "scale": cfg["scale"], **cfg["experiments"][experiment]}


def job_keys(experiment: str) -> tuple[str, ...]:
    """The settings one job of an experiment computes from (experiments.py)."""
    return (*experiment_of(experiment).job_keys, *EVERY_JOB)


def job_settings(experiment: str, settings: dict, variant: str = "") -> dict:
    """The part of an experiment's settings that one of its jobs computes from (experiments.py),
    with the one declared choice that a sensitivity variant changes."""
    keys = job_keys(experiment)
    chosen = {}
    if SENSITIVITY_MARK in variant:
        choice, value = sensitivity_choice(settings, variant)
        if choice not in keys:
            raise KeyError(f"experiments.{experiment}.sensitivity.{choice}: not a setting its jobs compute from "
                           f"({', '.join(keys)})")
        chosen = {choice: value}
    return {k: chosen.get(k, settings[k]) for k in keys if k in settings}


# ------------------------------------------------------------------ sensitivity
# A claim whose protocol has choices that no source fixes declares them in its experiment's
# `sensitivity` block ({choice: [values to try]}). Each value reruns the experiment once,
# from the main setting with that one choice changed (not a factorial), as ordinary cells
# whose variant is `<variant>~<choice>=<value>`; they train, resume and rerun like the others.
SENSITIVITY_MARK = "~"


def value_word(value) -> str:
    """A choice's value as it appears in a path: 1.0 -> '1', 1e-4 -> '0.0001', 'none' -> 'none'."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def sensitivity_runs(settings: dict) -> list[tuple[str, object]]:
    """(choice, value) of every declared sensitivity run, in the config's order."""
    return [(choice, value) for choice, values in (settings.get("sensitivity") or {}).items() for value in values]


def sensitivity_name(choice: str, value) -> str:
    return f"{choice}={value_word(value)}"


def with_choice(settings: dict, name: str) -> dict:
    """An experiment's settings with the one choice of sensitivity run `name` (`<choice>=<value>`)
    changed: what an analysis-only sensitivity run computes from."""
    choice, value = sensitivity_choice(settings, f"{SENSITIVITY_MARK}{name}")
    return dict(settings, **{choice: value})


def sensitivity_choice(settings: dict, variant: str) -> tuple[str, object]:
    """The (choice, value) that a variant `<base>~<choice>=<value>` declares, looked up in
    the config (so the value keeps its type), or a KeyError naming the variant."""
    name = variant.split(SENSITIVITY_MARK, 1)[1]
    for choice, value in sensitivity_runs(settings):
        if sensitivity_name(choice, value) == name:
            return choice, value
    raise KeyError(f"variant {variant!r}: {name!r} is not a declared sensitivity choice "
                   f"({', '.join(sensitivity_name(c, v) for c, v in sensitivity_runs(settings)) or 'none declared'})")


# The main setting over a smaller grid, for the runs that a `sensitivity_max_depth` limits:
# `main_to_<depth>`; each run is compared with the main setting over its own depths.
MAIN_TO = "main_to_"


def sensitivity_limit(settings: dict, name: str) -> float:
    """The largest depth of sensitivity run `name` (`sensitivity_max_depth`; none: the grid's)."""
    if name.startswith(MAIN_TO):
        return int(name.removeprefix(MAIN_TO))
    return (settings.get("sensitivity_max_depth") or {}).get(name, float("inf"))


def sensitivity_names(settings: dict) -> list[str]:
    """Every sensitivity run of an experiment, and a `main_to_<depth>` for each smaller grid."""
    names = [sensitivity_name(c, v) for c, v in sensitivity_runs(settings)]
    limits = sorted({int(sensitivity_limit(settings, n)) for n in names if sensitivity_limit(settings, n) < float("inf")})
    return names + [f"{MAIN_TO}{d}" for d in limits]


def sensitivity_cells(cfg: dict, experiment: str, name: str, dataset: str | None = None) -> list[Cell]:
    """The cells of one sensitivity run (`choice=value`): the main cells under another variant,
    up to the run's `sensitivity_max_depth`; `main_to_<depth>` names the main setting's own
    cells up to that depth."""
    settings = cfg["experiments"][experiment]
    top = sensitivity_limit(settings, name)
    mark = "" if name.startswith(MAIN_TO) else f"{SENSITIVITY_MARK}{name}"
    return [Cell(c.experiment, c.dataset, f"{c.variant}{mark}", c.depth)
            for c in cells(cfg, experiment) if dataset in (None, c.dataset) and c.depth <= top]


# ------------------------------------------------------------------ the DAG of a resolved config
# What the Snakemake rules ask for: every analysis job's inputs, outputs and settings (from the
# registry's declarations), the claim files of the table, the sensitivity tables, what each
# notebook reads and draws. Paths are relative to the working directory, under `root`.


class Plan:
    """The jobs of one run: `Plan(cfg, reference_dir)` for a resolved config (config.resolve);
    `reference_dir` holds the authors' files (registry.REFERENCES)."""

    def __init__(self, cfg: dict, reference_dir: str = "reference"):
        self.cfg = cfg
        self.reference_dir = reference_dir
        self.root = f"{cfg['results_dir']}/{cfg['scale']}"
        self.cpu_only = cfg["cpu_only"]
        self.figures_only = cfg["figures_only"]
        # The replication table of this run: every claim, or (cpu_only) the CPU table.
        self.table = f"{self.root}/replication/claims_cpu" if self.cpu_only else f"{self.root}/replication/claims"
        self.cpu_part_analyses = {part for c in CLAIMS.values() for part in c.cpu_parts}
        # Paper scale is meant for a GPU: there `auto` asks for CUDA, so a machine without a
        # usable one stops at its first job with the reason (engine.resolve_device) instead of
        # training on the CPU for days; cpu_only runs keep `auto`.
        auto_gpu = cfg["scale"] == "paper" and not self.cpu_only and cfg["device"] == "auto"
        self.device = "cuda" if auto_gpu else cfg["device"]

    # -------------------------------------------------------------- one training job
    def gpu_memory_mb(self, experiment: str, dataset: str, variant: str, depth: int) -> int:
        """The GPU memory a training cell declares (costs.py), 0 where it does not run on a GPU
        (a CPU device, or below paper scale): Snakemake starts GPU jobs while their sum fits
        the `gpu_mem_mb` the run grants (the default profile: the device's memory)."""
        if self.device == "cpu" or self.cfg["scale"] != "paper":
            return 0
        settings = job_settings(experiment, experiment_settings(self.cfg, experiment), variant)
        cost = cell_cost(experiment_of(experiment).builder, settings, dataset, int(depth), self.cfg["data"])
        return cost.gpu_memory_mb()

    # -------------------------------------------------------------- one analysis job
    def cell_paths(self, experiment: str, dataset: str | None = None, run: str | None = None) -> list[str]:
        """The training cells of an experiment (of one dataset; of one sensitivity run)."""
        chosen = sensitivity_cells(self.cfg, experiment, run, dataset) if run else cells(self.cfg, experiment)
        return [f"{self.root}/train/{c.path}" for c in chosen if dataset in (None, c.dataset)]

    def outputs(self, analysis: str, run: str | None = None) -> dict[str, str]:
        """An analysis's outputs, named as in the registry; a sensitivity run's in
        sensitivity/<run>/ beside each of them."""
        return {k: f"{self.root}/{sensitivity_run(v, run) if run else v}"
                for k, v in analysis_of(analysis).outputs.items()}

    def inputs(self, analysis: str, dataset: str | None = None, run: str | None = None) -> dict:
        """An analysis job's inputs from the registry's declarations (registry.Cells, Data,
        Output, Reference), for the job's dataset and sensitivity run."""
        a = analysis_of(analysis)
        return {name: self._input(a, spec, dataset, run) for name, spec in a.inputs.items()}

    def _input(self, a: Analysis, spec, dataset, run):
        if isinstance(spec, Cells):
            experiment = spec.experiment or a.experiment
            return [f"{d}/{CELL_FILES['weights']}" for d in self.cell_paths(experiment, dataset, run)]
        if isinstance(spec, Data):
            if spec.only and dataset not in spec.only:
                return []
            name = spec.name or (dataset if a.per_dataset else self.cfg["experiments"][spec.experiment or a.experiment]["dataset"])
            return [f"{self.root}/data/{name}.pt"] if spec.only else f"{self.root}/data/{name}.pt"
        if isinstance(spec, Output):
            path = self.outputs(spec.analysis, run)[spec.key]
            if spec.each:
                values = self.cfg["experiments"][a.experiment][spec.each]
                values = values if isinstance(values, list) else [values]
                return [path.format(alpha=f"{v:g}") for v in values]
            return path.format(dataset=dataset) if dataset else path
        if isinstance(spec, Reference):
            return f"{self.reference_dir}/{REFERENCES[spec.name]}"
        raise TypeError(f"analysis {a.name}: unknown input kind {spec!r}")

    def settings(self, analysis: str, wildcards: dict, run: str | None = None) -> dict:
        """What one analysis job computes from: its experiment's settings; one job per alpha,
        the experiment's job settings and that alpha; a sensitivity run of an experiment
        without training cells, the settings with the run's one choice changed."""
        experiment = analysis_of(analysis).experiment
        settings = experiment_settings(self.cfg, experiment)
        if "alpha" in wildcards:
            settings = {**job_settings(experiment, settings), "alpha": float(wildcards["alpha"])}
        if run and not cells(self.cfg, experiment):
            settings = with_choice(settings, run)
        return settings

    def label(self, analysis: str, wildcards: dict) -> str:
        a = analysis_of(analysis)
        return a.label.format(**{**experiment_settings(self.cfg, a.experiment), **wildcards})

    def sensitivity_analyses(self) -> list[str]:
        """The analyses rerun once per declared choice: those of claims that declare choices
        (registry: sensitivity) and the analyses whose outputs they read."""
        todo = [c.analysis for c in CLAIMS.values()
                if c.sensitivity and self.sensitivity_names(analysis_of(c.analysis).experiment)]
        out = []
        while todo:
            name = todo.pop()
            if name not in out:
                out.append(name)
                todo += [s.analysis for s in analysis_of(name).inputs.values() if isinstance(s, Output)]
        return [a for a in ANALYSES if a in out]

    def sensitivity_names(self, experiment: str) -> list[str]:
        """The sensitivity runs of an experiment (`<choice>=<value>`, and `main_to_<depth>`)."""
        if experiment not in self.cfg["experiments"]:
            return []
        return sensitivity_names(self.cfg["experiments"][experiment])

    # -------------------------------------------------------------- the claims of the table
    def datasets_of(self, analysis: str) -> list:
        """The datasets of a per-dataset analysis (its experiment's), else [None]."""
        a = analysis_of(analysis)
        return list(self.cfg["experiments"][a.experiment]["datasets"]) if a.per_dataset else [None]

    def claim_parts(self, claim: Claim) -> list[tuple[str, str | None]]:
        """(path under root, dataset) of each file of a claim."""
        pattern = claim_output(claim)
        return [(pattern.format(dataset=ds), ds) for ds in self.datasets_of(claim.analysis)]

    def _claim_files(self, cpu_only: bool) -> list[str]:
        out = []
        for c in CLAIMS.values():
            a = analysis_of(c.analysis)
            out += [f"{self.root}/{path}" for path, ds in self.claim_parts(c) if not cpu_only or a.runs_on_cpu(ds)]
            if cpu_only and not a.cpu:
                out += [f"{self.root}/{claim_output(c, part)}" for part in c.cpu_parts]
        return out

    def claim_files(self, cpu_only: bool = False) -> list[str]:
        """Every claim's files; with cpu_only, those whose paper scale fits a CPU, a claim's
        CPU parts standing in for a claim that needs a GPU (HZ.1: the authors' alpha alone).
        With figures_only, those that exist (see pending_claims)."""
        wanted = self._claim_files(cpu_only)
        return [f for f in wanted if Path(f).exists()] if self.figures_only else wanted

    def pending_claims(self, cpu_only: bool = False) -> list[str]:
        """Claims (`CLAIM`, or `CLAIM:DATASET` for one part) of the table with no result yet
        (figures_only): their rows say so."""
        missing = [f for f in self._claim_files(cpu_only) if not Path(f).exists()] if self.figures_only else []
        return sorted({part for f in missing for part in [self._claim_part_of(f)] if part})

    def _claim_part_of(self, path: str) -> str | None:
        for c in CLAIMS.values():
            for part in (c.analysis, *c.cpu_parts):
                pattern = re.escape(f"{self.root}/{claim_output(c, part)}").replace(re.escape("{dataset}"),
                                                                                    "(?P<ds>[^/]+)")
                m = re.fullmatch(pattern, path)
                if m:
                    return f"{c.id}:{m.group('ds')}" if "ds" in m.groupdict() else c.id
        return None

    def cpu_left_out_parts(self) -> list[str]:
        """Parts of claims in the CPU table whose other parts are not: the table's note names
        them (a dataset that needs a GPU; HZ.1's alphas other than the authors')."""
        out = []
        for c in CLAIMS.values():
            a = analysis_of(c.analysis)
            if a.cpu and a.per_dataset:
                out += [f"{c.id}:{ds}" for _, ds in self.claim_parts(c) if not a.runs_on_cpu(ds)]
            elif c.cpu_parts:
                hz1 = self.cfg["experiments"][a.experiment]
                out += [f"{c.id}:alpha={x:g}" for x in hz1["alphas"] if x != hz1["reference_alpha"]]
        return out

    # -------------------------------------------------------------- sensitivity tables
    @property
    def sensitivity_tables(self) -> dict[str, tuple[str, str, bool]]:
        """Claim parts with declared choices: the table's path under root (no extension) ->
        (the main claim file, its experiment, whether it is in the CPU table). Each run's claim
        file has the main one's name, in the main one's folder under sensitivity/<run>/."""
        return {sensitivity_path(c).format(dataset=ds): (path, analysis_of(c.analysis).experiment,
                                                          analysis_of(c.analysis).runs_on_cpu(ds))
                for c in CLAIMS.values() if c.sensitivity and self.sensitivity_names(analysis_of(c.analysis).experiment)
                for path, ds in self.claim_parts(c)}

    def sensitivity_runs_of(self, table: str) -> list[str]:
        main, experiment, _ = self.sensitivity_tables[table]
        return [f"{self.root}/{sensitivity_run(main, run)}" for run in self.sensitivity_names(experiment)]

    def sensitivity_files(self, cpu_only: bool = False) -> list[str]:
        """The sensitivity summaries the table's notes read (with figures_only, those that exist)."""
        files = [f"{self.root}/{t}.json" for t, (_, _, on_cpu) in self.sensitivity_tables.items()
                 if on_cpu or not cpu_only]
        return [f for f in files if Path(f).exists()] if self.figures_only else files

    # -------------------------------------------------------------- notebooks
    def in_this_run(self, analysis: str, dataset: str | None = None) -> bool:
        """Whether the run's notebooks and table include an analysis (for a dataset): all of
        them, or with cpu_only those that fit a CPU, with a claim's CPU parts in place of it;
        with figures_only, only those whose results exist (nothing is planned to make them).
        A per-dataset analysis without a dataset: whether it is in for any of its datasets."""
        a = analysis_of(analysis)
        if a.per_dataset and dataset is None:
            return any(self.in_this_run(analysis, ds) for ds in self.datasets_of(analysis))
        included = a.runs_on_cpu(dataset) if self.cpu_only else a.name not in self.cpu_part_analyses
        if included and self.figures_only:
            return all(Path(f"{self.root}/{v.format(dataset=dataset)}").exists() for v in a.outputs.values()
                       if v.endswith(SNAPSHOT_SUFFIXES) and "{alpha}" not in v)
        return included

    def paper_inputs(self, paper: str) -> list[str]:
        """What a paper's notebook reads: every text output (CSV, JSON, so that a snapshot can
        re-render it) of its analyses in this run (per dataset), and its sensitivity tables."""
        out = []
        for a in ANALYSES.values():
            if a.paper != paper or "{alpha}" in str(a.outputs):
                continue
            out += [f"{self.root}/{v.format(dataset=ds)}" for ds in self.datasets_of(a.name)
                    if self.in_this_run(a.name, ds) for v in a.outputs.values() if v.endswith(SNAPSHOT_SUFFIXES)]
        tables = [f"{self.root}/{t}.csv" for t, (_, _, on_cpu) in self.sensitivity_tables.items()
                  if t.startswith(f"{paper}/") and (on_cpu or not self.cpu_only)]
        return out + ([t for t in tables if Path(t).exists()] if self.figures_only else tables)

    def paper_datasets(self, paper: str) -> list[str]:
        """The datasets of a paper's per-dataset analyses in this run (what its notebook loops over)."""
        return list(dict.fromkeys(ds for a in ANALYSES.values() if a.paper == paper and a.per_dataset
                                  for ds in self.datasets_of(a.name) if self.in_this_run(a.name, ds)))

    def experiment_datasets(self) -> dict[str, list[str]]:
        """experiment -> its datasets in this run, for the per-dataset analyses' experiments."""
        return {a.experiment: [ds for ds in self.datasets_of(a.name) if self.in_this_run(a.name, ds)]
                for a in ANALYSES.values() if a.per_dataset}

    def notebook_figures(self, paper: str) -> list[str]:
        """The figures a paper's notebook must draw: those of its claims in this run (with
        figures_only, not those whose results ran an earlier design: their notebook cell says
        so and draws nothing, its tables lacking what the current figure reads)."""
        claims = [c for c in CLAIMS.values() if c.paper == paper
                  and any(self.in_this_run(name) for name in (c.analysis, *c.cpu_parts))]
        figures = []
        for c in claims:
            for ds, files in claim_figures(c, self.experiment_datasets()).items():
                # with figures_only, only a claim (or one dataset of it) whose results are here in its current design
                if not self.figures_only or (any(self.in_this_run(a, ds) for a in (c.analysis, *c.cpu_parts))
                                             and not self.earlier_design(c, ds)):
                    figures += files
        return [f"{self.root}/{f}" for f in dict.fromkeys(figures)]

    def earlier_design(self, c: Claim, dataset: str | None = None) -> bool:
        """Whether a claim's results here (any part, or its part on `dataset`) ran a design
        other than its card's."""
        analyses = [c.analysis, *c.cpu_parts]
        files = [Path(self.root) / claim_output(c, a).format(dataset=ds) for a in analyses
                 for ds in (self.datasets_of(a) if analysis_of(a).per_dataset else [""])
                 if dataset is None or not analysis_of(a).per_dataset or ds == dataset]
        designs = {json.loads(f.read_text()).get("design", EARLIER_DESIGN) for f in files if f.exists()}
        return bool(designs) and c.design not in designs

    def run_cell_provenance(self) -> list[str]:
        """The provenance records of this run's training cells (sensitivity runs included)."""
        trained = [e for e in self.cfg["experiments"] if cells(self.cfg, e)]
        chosen = [c for e in trained for c in cells(self.cfg, e)]
        chosen += [c for e in trained for name in self.sensitivity_names(e) if "=" in name
                   for c in sensitivity_cells(self.cfg, e, name)]
        return [f"{self.root}/train/{c.path}/{CELL_FILES['provenance']}" for c in chosen
                if any(self.in_this_run(a.name, c.dataset) for a in ANALYSES.values() if a.experiment == c.experiment)]
