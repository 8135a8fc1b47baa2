"""The registry: every claim and every analysis that measures one, in one place.

An *analysis* is one kind of pipeline job: one Snakemake rule (generated from this table by
workflow/rules/analyses.smk), one `python -m deeplimits analysis NAME`, one function
`fn(settings, inputs, outputs, *, scale, seed, label, device)`. It declares what it reads
(`inputs`: training cells, data sets, other analyses' outputs, the authors' reference files)
and what it writes (`outputs`, paths relative to results/<scale>/ that may hold `{dataset}`,
one job per dataset, or `{alpha}`); the rule passes it exactly those paths.

A *claim* names the analysis and the output that hold its claim file, the outputs shown as
its tables, its figures (drawn by the paper's notebook), the judge that decides its verdict
(judges.py) and the scales where its target applies.

Everything else reads this module: the Snakemake rules (through plan.py), the CLI, the
notebooks' file names, the report captions. Adding a claim to an existing paper: its analysis
function, an `Analysis` (or an output of one) and a `Claim` here, its notebook cell, its
config keys (config.yaml + schema), a test. No .smk file.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

SCALES = ("smoke", "quick", "paper")
SENSITIVITY_DIR = "sensitivity"

# The authors' published numbers under reference/ (see reference/README.md).
REFERENCES = {
    "authors_hz1_increments": "huang_zhang_random_resnet_increments.csv",
    "authors_hz2_sums": "huang_zhang_cifar10_partial_sums.csv",
    "authors_hz2_history": "huang_zhang_cifar10_training_history.csv",
}

PAPERS = {
    "huang_zhang": "Huang & Zhang",
    "xu_zhang": "Xu & Zhang",
    "cont_rossier_xu": "Cont, Rossier & Xu",
    "thorpe_van_gennip": "Thorpe & van Gennip",
}


# ------------------------------------------------------------------ what an analysis reads
@dataclass(frozen=True)
class Cells:
    """The weights of an experiment's training cells (its own experiment's by default); for a
    per-dataset analysis those of the job's dataset, for a sensitivity run that run's cells."""

    experiment: str | None = None


@dataclass(frozen=True)
class Data:
    """A prepared data set: `name`, or the dataset of an experiment (the analysis's own by
    default; `{dataset}` for a per-dataset one). `only`: needed for these datasets alone."""

    name: str | None = None
    experiment: str | None = None
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    """Another analysis's output (of the same dataset and sensitivity run). `each`: a key of
    the experiment's settings whose value (or values) fills the output's `{alpha}`."""

    analysis: str
    key: str
    each: str | None = None


@dataclass(frozen=True)
class Reference:
    """One of the authors' published files under reference/ (REFERENCES)."""

    name: str


@dataclass(frozen=True)
class Analysis:
    """One job kind. `cpu`: its paper scale fits a CPU (hours on 2 cores); for a job per
    dataset, `cpu_datasets` names the datasets that do (empty: all of them). `label` names the
    part of a claim a job measures, formatted with its settings and wildcards. `torch_threads`:
    0 for torch's default, else the job's thread count."""

    name: str
    paper: str
    experiment: str
    function: str                    # "<module under deeplimits.analysis>:<function>"
    outputs: dict[str, str]
    inputs: dict[str, Cells | Data | Output | Reference] = field(default_factory=dict)
    cpu: bool = True
    cpu_datasets: tuple[str, ...] = ()
    label: str = ""
    torch_threads: int = 0

    @property
    def per_dataset(self) -> bool:
        return any("{dataset}" in p for p in self.outputs.values())

    def runs_on_cpu(self, dataset: str | None = None) -> bool:
        return self.cpu and (not self.cpu_datasets or dataset in self.cpu_datasets)

    def run(self, settings: dict, inputs: dict, outputs: dict, **context):
        module, _, fn = self.function.partition(":")
        return getattr(importlib.import_module(f"deeplimits.analysis.{module}"), fn)(
            settings, inputs, outputs, **context)


# The design a claim file written before designs were recorded ran.
EARLIER_DESIGN = "2026-12-01"


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    provenance: str                  # published | reconstructed | ours
    analysis: str                    # the analysis whose output `output` is this claim's file
    output: str = "claim"
    tables: tuple[str, ...] = ()     # outputs of the same analysis shown as its tables
    figures: dict[str, str] = field(default_factory=dict)  # name -> file under figures/<paper>/
    caption: str = ""                # what its figures show (the report's caption)
    applies_at: tuple[str, ...] = SCALES
    # The judge (judges.JUDGES) that decides from the values: "measures" (every judged number's
    # interval inside its band), "xz4" (per-depth learn/fail states) or "reported" (no verdict).
    judge: str = "measures"
    # Earlier designs whose claim files another judge decides: design -> judge (a snapshot of
    # an earlier design keeps the verdict its own judge gives, until it is rerun).
    earlier_judges: dict[str, str] = field(default_factory=dict)
    # Rerun once per value of its experiment's declared open choices (config: sensitivity).
    sensitivity: bool = False
    # Parts of this claim measured by another analysis that stand in for it in the CPU table.
    cpu_parts: tuple[str, ...] = ()
    # The design its card describes (the date it was set); a claim file records the design it
    # ran, so a result of an earlier design (a snapshot not yet rerun) says so in the table.
    design: str = EARLIER_DESIGN


def _a(name, paper, experiment, function, outputs, **kw):
    return Analysis(name, paper, experiment, function, outputs, **kw)


HZ, XZ, CRX, TVG = "huang_zhang", "xu_zhang", "cont_rossier_xu", "thorpe_van_gennip"
_TVG_SOLVE = f"{TVG}/{{dataset}}/tvg"
# What tvg_claims reads: the chain of minimisers and the continuum problem (of the same run).
_TVG_RESULTS = {"objectives": Output("tvg_solve", "objectives"), "solutions": Output("tvg_solve", "solutions"),
                "continuum": Output("tvg_continuum", "summary"), "continuum_model": Output("tvg_continuum", "model")}

ANALYSES = {a.name: a for a in [
    # HZ.1: one job per alpha computes its curve (hours per alpha on 2 CPU cores at the authors'
    # size); `hz1` judges every alpha, `hz1_reference_alpha` the authors' alone (the part of
    # HZ.1 that the CPU table holds).
    _a("hz1_increments", HZ, "hz1", "huang_zhang:hz1_increments",
       {"increments": f"{HZ}/hz1/a{{alpha}}/increments.csv"}, inputs={"data": Data("random_images")},
       cpu=False, torch_threads=2),
    _a("hz1", HZ, "hz1", "huang_zhang:hz1",
       {"claim": f"{HZ}/hz1/claim.json", "increments": f"{HZ}/hz1/increments.csv",
        "slopes": f"{HZ}/hz1/slopes.csv"},
       inputs={"increments": Output("hz1_increments", "increments", each="alphas"),
               "reference": Reference("authors_hz1_increments")}, cpu=False),
    _a("hz1_reference_alpha", HZ, "hz1", "huang_zhang:hz1",
       {"claim": f"{HZ}/hz1/reference_alpha/claim.json", "increments": f"{HZ}/hz1/reference_alpha/increments.csv",
        "slopes": f"{HZ}/hz1/reference_alpha/slopes.csv"},
       inputs={"increments": Output("hz1_increments", "increments", each="reference_alpha"),
               "reference": Reference("authors_hz1_increments")}, label="alpha={reference_alpha:g}"),
    _a("hz2", HZ, "hz2", "huang_zhang:hz2",
       {"claim": f"{HZ}/hz2/claim.json", "history": f"{HZ}/hz2/history.csv",
        "sums": f"{HZ}/hz2/partial_sums.csv"},
       inputs={"cells": Cells(), "data": Data(), "reference_sums": Reference("authors_hz2_sums")}, cpu=False),
    # HZ.3 checks the theorems on random nets and on HZ.2's trained net.
    _a("hz3", HZ, "hz3", "huang_zhang:hz3",
       {"claim": f"{HZ}/hz3/claim.json", "summary": f"{HZ}/hz3/explicit_and_bound.csv",
        "truncation": f"{HZ}/hz3/truncation.csv", "blocks": f"{HZ}/hz3/bound_per_block.csv"},
       inputs={"cells": Cells("hz2"), "data": Data(experiment="hz2")}, cpu=False),
    _a("hz4", HZ, "hz4", "huang_zhang:hz4",
       {"claim": f"{HZ}/hz4/claim.json", "grid": f"{HZ}/hz4/grid.csv",
        "curves": f"{HZ}/hz4/partial_sum_curves.csv", "slopes": f"{HZ}/hz4/gap_slopes.csv"},
       inputs={"cells": Cells(), "data": Data()}, cpu=False),
    _a("hz5", HZ, "hz5", "huang_zhang:hz5",
       {"claim": f"{HZ}/hz5/claim.json", "oscillation": f"{HZ}/hz5/oscillation.csv",
        "slopes": f"{HZ}/hz5/oscillation_slopes.csv"}),
    _a("xz1", XZ, "xz1", "xu_zhang:xz1",
       {"claim": f"{XZ}/xz1/claim.json", "summary": f"{XZ}/xz1/explicit_and_pieces.csv",
        "pieces": f"{XZ}/xz1/pieces.csv"}),
    _a("xz2", XZ, "xz2", "xu_zhang:xz2",
       {"claim": f"{XZ}/xz2/claim.json", "oscillation": f"{XZ}/xz2/oscillation.csv",
        "slopes": f"{XZ}/xz2/oscillation_slopes.csv", "increments": f"{XZ}/xz2/increments.csv",
        "sums": f"{XZ}/xz2/partial_sums.csv", "he": f"{XZ}/xz2/he_output_norms.csv"}),
    # XZ.5 reads XZ.2's per-sequence slopes: its converging contrast and its alpha = 0.
    _a("xz5", XZ, "xz5", "xu_zhang:xz5",
       {"claim": f"{XZ}/xz5/claim.json", "oscillation": f"{XZ}/xz5/oscillation.csv",
        "slopes": f"{XZ}/xz5/oscillation_slopes.csv"},
       inputs={"xz2_slopes": Output("xz2", "slopes")}),
    # XZ.3 and XZ.4 read the same trained plain nets (experiment xz34).
    _a("xz34", XZ, "xz34", "xu_zhang:xz34",
       {"claim_xz3": f"{XZ}/xz34/claim_xz3.json", "claim_xz4": f"{XZ}/xz34/claim_xz4.json",
        "accuracy": f"{XZ}/xz34/accuracy.csv", "layers": f"{XZ}/xz34/layer_norms.csv",
        "trends": f"{XZ}/xz34/trends.csv"},
       inputs={"cells": Cells(), "data": Data()}),
    # CRX.1 and CRX.2 read the same GD training (experiment crx1).
    _a("crx1", CRX, "crx1", "cont_rossier_xu:crx1",
       {"claim": f"{CRX}/crx1/claim.json", "losses": f"{CRX}/crx1/loss_curves.csv",
        "rates": f"{CRX}/crx1/rates.csv"},
       inputs={"cells": Cells(), "data": Data("near_orthogonal"), "control_data": Data("crowded")}),
    _a("crx2", CRX, "crx1", "cont_rossier_xu:crx2",
       {"claim": f"{CRX}/crx2/claim.json", "norms": f"{CRX}/crx2/weight_norms.csv"}, inputs={"cells": Cells()}),
    _a("crx3", CRX, "crx3", "cont_rossier_xu:crx3",
       {"claim": f"{CRX}/crx3/claim.json", "variations": f"{CRX}/crx3/variations.csv",
        "exponents": f"{CRX}/crx3/growth_exponents.csv", "profiles": f"{CRX}/crx3/profiles.csv"},
       inputs={"cells": Cells()}),
    # CRX.5 trains its many small full-batch runs itself (no cells: one job).
    _a("crx5", CRX, "crx5", "cont_rossier_xu:crx5",
       {"claim": f"{CRX}/crx5/claim.json", "rates": f"{CRX}/crx5/rates.csv"}),
    # CRX.6 reads CRX.3's cells: the distances between the trained paths at L and 2L.
    _a("crx6", CRX, "crx3", "cont_rossier_xu:crx6",
       {"claim": f"{CRX}/crx6/claim.json", "distances": f"{CRX}/crx6/path_distances.csv",
        "slopes": f"{CRX}/crx6/distance_slopes.csv"}, inputs={"cells": Cells()}),
    # One job per dataset: at paper scale the ODE part fits a CPU, the MNIST part needs a GPU.
    # The MNIST features' prepared file is read for its note (the stand-in that ran).
    _a("crx4", CRX, "crx4", "cont_rossier_xu:crx4",
       {"claim": f"{CRX}/crx4/{{dataset}}/claim.json", "scaling": f"{CRX}/crx4/{{dataset}}/scaling.csv",
        "betas": f"{CRX}/crx4/{{dataset}}/betas.csv", "entry": f"{CRX}/crx4/{{dataset}}/entry_decomposition.csv"},
       inputs={"cells": Cells(), "features": Data(only=("mnist_features",))}, cpu_datasets=("ode",),
       label="{dataset}"),
    # TvG: the depth grid of minimisers (the expensive step), the continuum problem, the claims.
    _a("tvg_solve", TVG, "tvg", "thorpe_van_gennip:tvg_solve",
       {"objectives": f"{_TVG_SOLVE}/objectives.csv", "solutions": f"{_TVG_SOLVE}/solutions.pt"},
       inputs={"data": Data()}, torch_threads=1),
    _a("tvg_continuum", TVG, "tvg", "thorpe_van_gennip:tvg_continuum",
       {"model": f"{_TVG_SOLVE}/continuum.pt", "summary": f"{_TVG_SOLVE}/continuum.json"},
       inputs={"data": Data(), "solutions": Output("tvg_solve", "solutions"),
               "objectives": Output("tvg_solve", "objectives")}, torch_threads=1),
    _a("tvg_claims", TVG, "tvg", "thorpe_van_gennip:tvg_claims",
       {"claim_tvg1": f"{_TVG_SOLVE}/claim_tvg1.json", "claim_tvg2": f"{_TVG_SOLVE}/claim_tvg2.json",
        "claim_tvg4": f"{_TVG_SOLVE}/claim_tvg4.json", "claim_tvg5": f"{_TVG_SOLVE}/claim_tvg5.json",
        "claim_tvg6": f"{_TVG_SOLVE}/claim_tvg6.json", "minima": f"{_TVG_SOLVE}/minima.csv",
        "distances": f"{_TVG_SOLVE}/distances.csv", "slopes": f"{_TVG_SOLVE}/distance_slopes.csv",
        "gaps": f"{_TVG_SOLVE}/gamma_gaps.csv", "profiles": f"{_TVG_SOLVE}/profiles.csv"},
       inputs={**_TVG_RESULTS, "data": Data()}, label="{dataset}"),
    _a("tvg3", TVG, "tvg", "thorpe_van_gennip:tvg3",
       {"claim": f"{TVG}/{{dataset}}/tvg3/claim.json", "table": f"{TVG}/{{dataset}}/tvg3/euler_vs_ode.csv"},
       inputs={"data": Data()}, label="{dataset}"),
]}


def _c(cid, paper, statement, provenance, analysis, **kw):
    return Claim(cid, paper, statement, provenance, analysis, **kw)


CLAIMS = {c.id: c for c in [
    _c("HZ.1", HZ, "random scaled ResNet: max|y(n)-y(n-1)| decays like n^-(1+alpha)", "published", "hz1",
       design="2026-12-05",
       tables=("slopes",), figures={"increments": "hz1_increments.png"}, cpu_parts=("hz1_reference_alpha",),
       caption="HZ.1: max-abs increments of a random scaled conv ResNet on log-log axes, one curve per alpha; "
               "the authors' run (alpha = 0.2, 1000 inputs of 32x32x128) dashed; the paper reports slope -(1+alpha)."),
    _c("HZ.2", HZ, "trained scaled ResNet: CIFAR-10 test accuracy 92.3%, A(75)=1.876, B(75)=2.19e-3", "published",
       "hz2", tables=("history", "sums"),
       figures={"training": "hz2_training.png", "sums": "hz2_partial_sums.png"}, applies_at=("paper",),
       caption="HZ.2: training history and the partial sums A(N), B(N) in the authors' normalisation "
               "(paper: A(75) = 1.876, B(75) = 2.19e-3 on CIFAR-10, test accuracy 92.3%)."),
    _c("HZ.3", HZ, "explicit activation-matrix form = forward pass; per-block bound holds on every block "
       "(truncated networks reported)", "ours", "hz3", tables=("summary",),
       figures={"truncation": "hz3_truncation.png"}, design="2026-12-05",
       caption="HZ.3: the truncated networks (the head on each depth-n prefix) against the full network: distance "
               "and top-1 agreement (reported)."),
    _c("HZ.4", HZ, "trained scaled ResNets converge in depth for alpha > 0: the half-depth gap of the logits "
       "shrinks with D at alpha = 1, not at alpha = -0.5", "ours", "hz4",
       tables=("slopes",), sensitivity=True, figures={"grid": "hz4_grid.png"}, design="2026-12-05",
       caption="HZ.4: the half-depth gap g(D) = ||f(D/2) - f(D)|| / ||f(D)|| of each trained network's logits "
               "against D per alpha (trained solid, at initialisation dashed), with the test accuracy and the "
               "partial sums A(D) (reported)."),
    _c("HZ.5", HZ, "the sufficient condition: when the weight and the bias series are both summable, the outputs "
       "of random scaled ResNets converge; when neither is, they do not", "ours", "hz5", tables=("slopes",),
       figures={"arms": "hz5_arms.png"}, design="2026-12-05",
       caption="HZ.5: the window oscillation osc(D) of random scaled ResNets per arm (both series summable, one "
               "of them not, neither), each network thin and the mean thick."),
    _c("XZ.1", XZ, "explicit product form = forward pass; the linear pieces along segments stop multiplying with "
       "depth for convergent sequences, not for alpha = -0.5", "ours", "xz1", tables=("summary",),
       figures={"pieces": "xz1_pieces.png"}, design="2026-12-05",
       caption="XZ.1: linear pieces of the network along random segments, by depth, per arm (He init collapses)."),
    _c("XZ.2", XZ, "W(n) = I + n^-(1+alpha) G, b(n) = n^-(1+alpha) g: the outputs converge for alpha > 0 "
       "(window oscillation), not for alpha = -0.5", "ours", "xz2", tables=("slopes",), sensitivity=True,
       design="2026-12-05",
       figures={"oscillation": "xz2_oscillation.png", "increments": "xz2_increments.png"},
       caption="XZ.2: the window oscillation osc(D) of the outputs against D per alpha (each random sequence, and "
               "their mean), judged by its slope; the increments ||N(n) - N(n-1)|| at the rate the construction "
               "imposes, and He init's output norms."),
    _c("XZ.3", XZ, "trained plain nets: ||W(n) - I|| and ||b(n)|| vs n (trend)", "reconstructed", "xz34",
       design="2026-12-05",
       output="claim_xz3", tables=("trends",), judge="reported", figures={"layer_norms": "xz3_layer_norms.png"},
       caption="XZ.3: ||W(n) - I|| and ||b(n)|| along depth after training."),
    _c("XZ.4", XZ, "convergent init trains at depths where He init fails (each init at its better learning rate "
       "on a validation split)", "reconstructed", "xz34", output="claim_xz4", tables=("accuracy",),
       earlier_judges={EARLIER_DESIGN: "xz4"}, design="2026-12-05", figures={"accuracy": "xz4_accuracy.png"},
       caption="XZ.4: test accuracy by depth for He and convergent init (each at its chosen learning rate), with "
               "chance, the level He must stay under at the deepest depth and the one it must reach when shallow."),
    _c("XZ.5", XZ, "the necessary conditions: a sequence whose W(n) tends to a 3-cycle, or whose b(n) tends to a "
       "drift, does not converge", "ours", "xz5", tables=("slopes",), figures={"arms": "xz5_arms.png"},
       design="2026-12-05",
       caption="XZ.5: the window oscillation osc(D) of the two arms that break a necessary condition (a 3-cycle "
               "limit of W(n); a bias drift), beside XZ.2's alpha = 1 (converges) and alpha = 0 (meets the "
               "necessary conditions only)."),
    _c("CRX.1", CRX, "on nearly orthogonal data (n <= d), full-batch GD converges linearly to the global optimum; "
       "not on crowded data (n = 2d)", "reconstructed", "crx1", tables=("rates",), figures={"loss": "crx1_loss.png"},
       design="2026-12-05", sensitivity=True,
       caption="CRX.1: training loss of full-batch GD per depth on a log scale, the control (crowded data) dashed, "
               "with the least-squares residual it cannot pass."),
    _c("CRX.2", CRX, "max_k ||A(k)|| ~ L^-beta with beta = 0.5 (reported: the L^-1/2 scaling sets it)",
       "reconstructed", "crx2", tables=("norms",), figures={"scaling": "crx2_scaling.png"}, judge="reported",
       earlier_judges={EARLIER_DESIGN: "measures"},
       design="2026-12-05",
       caption="CRX.2: max_k ||A(k)|| against L on log-log axes with the fitted L^-beta."),
    _c("CRX.3", CRX, "weights along depth have finite 2-variation in the limit", "reconstructed", "crx3",
       tables=("exponents",), figures={"variation": "crx3_variation.png", "profiles": "crx3_profiles.png"},
       design="2026-12-05",
       caption="CRX.3: p-variation of the weight path against L per init, and two entries along depth."),
    _c("CRX.4", CRX, "max_k ||A(k)|| ~ L^-beta with beta = 0.2 (tanh, ODE), 0.5 (relu, ODE), "
       "0.4 (relu, MNIST features); targets reconstructed: constants in the companion's analysis code",
       "reconstructed", "crx4", tables=("betas",), sensitivity=True, design="2026-12-05",
       figures={"scaling": "crx4_scaling.png", "entry": "crx4_entry.png", "stops": "crx4_stops.png",
                "sensitivity": "crx4_sensitivity.png"},
       caption="CRX.4: max_k ||A(k)|| against L per model with the fitted beta; trend / noise decomposition "
               "of one entry at the largest depth; stop epoch per depth; beta per protocol choice."),
    _c("CRX.5", CRX, "the linear rate grows with lambda_min / N (width x samples x input overlap); not on crowded "
       "data (N = 2d)", "ours", "crx5", tables=("rates",), figures={"rates": "crx5_rates.png"}, design="2026-12-05",
       caption="CRX.5: the fitted GD rate of each cell (mean over seeds, their range as a bar) against lambda_min / N, "
               "per width and overlap; the crowded control's final loss against its least-squares floor."),
    _c("CRX.6", CRX, "the trained weights have a scaling limit: the paths s -> L^(1/2) A(floor(sL)) (zero init) "
       "and the training displacements (every init) converge as L doubles", "ours", "crx6", tables=("slopes",),
       figures={"distances": "crx6_distances.png"}, design="2026-12-05",
       caption="CRX.6: distance between the trained paths at L and 2L against L, for the weights and the training "
               "displacement per initialisation."),
    _c("TvG.1", TVG, "min E_N converges as N -> infinity, at order about 1 (best converged minimum per N over "
       "cold, warm and best-so-far chains)", "ours", "tvg_claims", output="claim_tvg1", design="2026-12-05",
       tables=("minima",), sensitivity=True, figures={"minima": "tvg1_minima_{dataset}.png"},
       caption="TvG.1: E_N at every solve per depth N and chain (the best per N is m_N), the Richardson m_inf and "
               "the continuum minimum; the successive differences of m_N with an order-1 guide."),
    _c("TvG.2", TVG, "the best minimisers converge: their L2 distance at N and 2N shrinks; not without the H1 penalty",
       "ours", "tvg_claims", output="claim_tvg2", tables=("distances",), sensitivity=True, design="2026-12-05",
       figures={"distances": "tvg2_distances_{dataset}.png", "profiles": "tvg2_profiles_{dataset}.png"},
       caption="TvG.2 and TvG.5: the L2 distance between the best minimisers at N and 2N, with the H1 penalty "
               "(treated) and without (a1 = 0, the control), with a slope -1 guide; the best minimisers' K(t) "
               "per N and the continuum minimiser's."),
    _c("TvG.3", TVG, "Euler ResNet vs ODE solve differs by O(1/N)", "ours", "tvg3", tables=("table",),
       figures={"euler": "tvg3_euler_{dataset}.png"},
       caption="TvG.3: Euler ResNet against the ODE solve, by depth."),
    _c("TvG.4", TVG, "the cold-started continuum problem's minimum settles under node refinement and matches the "
       "extrapolated m_inf", "ours", "tvg_claims", design="2026-12-05",
       output="claim_tvg4", tables=("minima",), figures={"profiles": "tvg2_profiles_{dataset}.png"}),
    _c("TvG.5", TVG, "without the H1 penalty the best minimisers do not converge (TvG.2's control)", "ours",
       "tvg_claims", output="claim_tvg5", tables=("slopes",), design="2026-12-05",
       figures={"distances": "tvg2_distances_{dataset}.png"}),
    _c("TvG.6", TVG, "Gamma-convergence's two inequalities: the liminf gap E_inf(interp theta_N) - E_N(theta_N) "
       "shrinks, the sandwich holds at every N; not without the H1 penalty", "ours", "tvg_claims",
       output="claim_tvg6", tables=("gaps",), design="2026-12-05", figures={"gaps": "tvg6_gaps_{dataset}.png"},
       caption="TvG.6: the size of the liminf gap E_inf(interp theta_N) - E_N(theta_N) of the best minimisers "
               "against N, with the H1 penalty and without (control), and of the recovery gap E_N(theta* sampled) - "
               "E_inf(theta*) (reported); the sandwich of the minima."),
]}


# ------------------------------------------------------------------ claim cards (R6)
@dataclass(frozen=True)
class Card:
    """What a referee needs before a claim's run, in our words; docs/claim-cards.md is
    generated from it (docs.py). `values`: the keys of the claim's experiment settings that its
    judge reads (targets, tolerances, draws, budgets), printed per scale from the config, so no
    number is typed twice; `constants`: "module:NAME" of targets kept in an analysis module."""

    statement: str          # the claim, in our words
    judged: str             # the judged quantity
    not_by_construction: str  # why the construction does not fix it (or that it does, and what follows)
    control: str            # the control and its non-degeneracy check, or why there is none
    draws: str              # what one independent draw is (or "deterministic")
    interval: str           # the interval method
    target_source: str      # the target and where it comes from (published / reconstructed / ours)
    tolerance_reason: str   # why this tolerance
    budget: str             # the step or iteration budget
    values: tuple[str, ...] = ()
    constants: tuple[str, ...] = ()


_T = "Student-t interval over the draws' values (uncertainty.mean_interval)"
_DET = "none: deterministic, judged against a numerical tolerance"
CARDS = {
    "HZ.1": Card(
        statement="A random ResNet whose blocks are scaled by n^-(1+alpha) has increments max|y(n) - y(n-1)| "
                  "that decay like n^-(1+alpha): the authors' own experiment (section 7.2).",
        judged="the log-log slope of the increments over n >= fit_from, per alpha, fitted per random network",
        not_by_construction="it is largely fixed: the n^-(1+alpha) scaling of weights and biases imposes the "
                            "rate (R1), so this row is the authors' measurement; the theorem's conclusion is HZ.5",
        control="none: the row reproduces a published curve; convergence itself is HZ.5, with its control",
        draws="random networks (every block's filters and biases), `networks` per alpha; the authors ran one",
        interval="Student-t interval over the networks' slopes; with one network, the OLS interval of its fit",
        target_source="published: slope -(1+alpha), the authors' curve at alpha = 0.2 (reference/)",
        tolerance_reason="`tolerance` absorbs the curvature of the first blocks above fit_from",
        budget="no training; depth blocks per network", values=("alphas", "depth", "networks", "fit_from", "tolerance")),
    "HZ.2": Card(
        statement="The authors' scaled ResNet trained on CIFAR-10 reaches their test accuracy and partial sums.",
        judged="final test accuracy (percent) and A(75), B(75) over the authors' values",
        not_by_construction="accuracy is what training reaches; the sums depend on the trained kernels",
        control="none: a replication of a published number",
        draws="seeds (one training run each); at paper scale one run, as the authors, so no interval",
        interval=_T + " where `seeds` > 1", target_source="published: the authors' final test accuracy (`accuracy_target`) and their "
                                    "A(75), B(75) (reference/huang_zhang_cifar10_partial_sums.csv)",
        tolerance_reason="`accuracy_tolerance` points for the run-to-run spread of one CIFAR-10 run; "
                         "`sums_tolerance` (relative) on the sums",
        budget="epochs of Adam with the authors' schedule",
        values=("seeds", "epochs", "accuracy_target", "accuracy_tolerance", "sums_tolerance")),
    "HZ.3": Card(
        statement="The explicit activation-matrix form equals the forward pass, and the per-block bound "
                  "||y(n) - y(n-1)|| <= a(n)||y(n-1)|| + c(n) holds on every block.",
        judged="the explicit form's relative error and the bound's violations (layer norms: exact spectral norms "
               "of the layer matrices, never a power-iteration estimate, which underestimates and could fake a "
               "violation); the truncated networks' n*/D (from n* on, top-1 agreement with the full network "
               "stays >= 0.99) is reported: the theorem does not order the prefixes",
        not_by_construction="an identity and an inequality checked in float64 on networks not built to satisfy them "
                            "(random and trained)",
        control="none: an identity has no failing arm; a violated bound would show as a count",
        draws="deterministic", interval=_DET,
        target_source="ours: the theorem's identity and bound",
        tolerance_reason="`rel_tolerance`: float64 round-off accumulated over the depth", budget="no training", values=("depth", "n_inputs", "rel_tolerance")),
    "HZ.4": Card(
        statement="Scaled ResNets trained at alpha > 0 (both series summable) converge in depth: the head on the "
                  "depth-D/2 prefix and on the whole depth-D network give nearly the same logits, more so as D "
                  "grows; at alpha = -0.5 they do not.",
        judged="per seed, the slope of log g(D) against log D over the doubling grid of depths, with g(D) = "
               "||f(D/2) - f(D)|| / ||f(D)|| of the trained network's logits on the test set (Frobenius over "
               "inputs x classes); g(D) at initialisation is reported beside it",
        not_by_construction="the first design (2026-12-01) judged the partial sums A(D): bounded for alpha > 0 "
                            "because clipped kernels times n^-(1+alpha) bound them (R1), so it judged the "
                            "construction; its rows in earlier snapshots keep their design tag. The scaling bounds "
                            "each block, not how training uses the depth: the gap of the trained network can stay "
                            "large wherever the trained blocks add up",
        control="control_alpha (-0.5: neither series summable) must not converge: slope >= -no_decay_slope, a working "
                "network (its accuracy in the note) whose logits are within 1e-3..1e3 of the inputs' norm on every "
                "seed (recomputed from the stored ratios); alpha = 0 and 0.5 are reported (alpha = 0's tail bound "
                "is log 2, an upper bound only)",
        draws="seeds (one independently trained network per seed and cell; the seed index across depths is one "
              "draw)", interval=_T,
        target_source="ours: a stand-in on digits gave slopes -1.02 and -0.95 at alpha = 1, +0.01 at alpha = -0.5",
        tolerance_reason="converged_slope: clearly decaying over the grid; no_decay_slope: flat; R4's law_tolerance "
                         "for the two halves of the grid",
        budget="epochs of Adam per cell (about 200 steps at quick), seeds batched",
        values=("alphas", "treated_alpha", "control_alpha", "depths", "seeds", "epochs", "converged_slope",
                "no_decay_slope", "law_tolerance")),
    "HZ.5": Card(
        statement="Huang & Zhang's sufficient condition: if the series of the blocks' weight norms and of their "
                  "bias terms both converge, y(n)(x) converges for every x; probed with each series scaled apart.",
        judged="per random network, the slope of log osc(D) against log D over the doubling grid of depths (R1)",
        not_by_construction="the scaling fixes each block's size, not the composed outputs' movement: random "
                            "blocks cancel or add up (a stand-in decayed like D^-(alpha + 1/2) for every arm with "
                            "alpha > -1/2, so the norm condition is far from sharp for random blocks)",
        control="neither series summable (control_alpha) must not converge: slope >= -no_decay_slope, outputs "
                "within 1e-3..1e3 of the inputs on every network (recomputed from the stored ratios)",
        draws="random networks (every block's kernels and biases), `networks` per arm", interval=_T,
        target_source="ours: the theorem's conclusion; the one-series arms are reported",
        tolerance_reason="converged_slope: clearly decaying at finite depth; R4's law_tolerance for the two halves",
        budget="no training; blocks up to `depth`; a dense stand-in of the authors' conv shape",
        values=("alpha", "control_alpha", "min_depth", "depth", "width", "networks", "converged_slope",
                "no_decay_slope", "law_tolerance")),
    "XZ.1": Card(
        statement="The explicit product form equals the forward pass; along a segment of inputs, the linear "
                  "pieces of a convergent sequence's network stop multiplying with depth.",
        judged="the explicit form's relative error (float64); per draw (a random network and segment), "
               "pieces(D) / pieces(D/2) over the last doubling, a piece boundary counting when the slope along "
               "the segment changes by more than eps x the output's scale there",
        not_by_construction="the piece count is a property of the whole composed network, not of any one layer. "
                            "A kink that layer n adds changes the slope by about n^-(1+alpha) of the output's scale, "
                            "so in the convergent arm the late layers' kinks fall below eps and the ratio can be 1 "
                            "in every draw: the row reads that late kinks shrink below a fixed threshold (what "
                            "convergence means for a piecewise-linear limit), the control's kinks do not, and the "
                            "eps choices show how much the threshold decides",
        control="alpha = -0.5 (neither series summable, outputs of order 1): its ratio must exceed stable_ratio; "
                "non-degenerate from the output / input norm ratio of each draw. He init is drawn but collapses "
                "(outputs near 0), so it is no control",
        draws="a fresh random network and segment per draw", interval=_T, target_source="ours",
        tolerance_reason="[stable_floor, stable_ratio] allows a few new pieces per doubling; eps_choices (R7) are "
                         "judged from the same breakpoints and the note names any that flips the verdict",
        budget="no training", values=("depth", "width", "n_segments", "eps", "eps_choices", "stable_floor",
                                      "stable_ratio", "rel_tolerance")),
    "XZ.2": Card(
        statement="With W(n) = I + n^-(1+alpha) G(n) and b(n) = n^-(1+alpha) g(n) (G, g random, normalised), "
                  "both series are summable for alpha > 0, so the outputs N(n)(x) converge.",
        judged="per random sequence, the slope of log osc(D) against log D over the doubling grid of depths "
               "(the window oscillation of the outputs, R1), for each alpha",
        not_by_construction="the construction fixes the size of each layer's perturbation, not how the composed "
                            "outputs move: random perturbations can cancel (a stand-in decayed like D^-(alpha + 1/2)) "
                            "or add up. The earlier design judged the increments' slope, which is the imposed "
                            "n^-(1+alpha) (its figure stays, labelled so)",
        control="alpha = -0.5 (neither series summable) must not converge: slope >= -no_decay_slope, with its "
                "outputs' norm within 1e-3..1e3 of the inputs' on every sequence (recomputed from the stored ratios)",
        draws="random sequences (G(n), g(n) for every n), `sequences` per alpha", interval=_T,
        target_source="ours: the sufficient condition's conclusion; slope <= -alpha is the rate of its tail bound",
        tolerance_reason="one-sided: the theorem gives an upper rate, faster decay is allowed; R4: the two halves "
                         "of the grid agree within law_tolerance",
        budget="no training; depths to `depth`",
        values=("alphas", "min_depth", "depth", "sequences", "n_inputs", "no_decay_slope", "law_tolerance")),
    "XZ.3": Card(
        statement="After training, ||W(n) - I|| and ||b(n)|| along depth (the necessary trends W(n) -> I, "
                  "b(n) -> 0), reported without pass/fail.",
        judged="nothing: each profile is worded from the data (decreasing, growing, U-shaped or flat, from the "
               "means of its first, middle and last third), and a net that did not learn is marked",
        not_by_construction="training sets the weights",
        control="none: a reported trend", draws="seeds", interval="none (reported)",
        target_source="reconstructed: the journal version's experiments are not available",
        tolerance_reason="no tolerance: reported", budget="epochs of Adam per cell",
        values=("seeds", "depths", "epochs")),
    "XZ.4": Card(
        statement="Plain deep ReLU nets from a convergent initialisation (identity plus a summable perturbation) "
                  "train at depths where He init fails, with each initialisation given its better learning rate.",
        judged="at the deepest D, acc(convergent) - acc(He) (test accuracy at the final epoch, each init at the "
               "learning rate it chose on a validation split carved from the training split) and He's accuracy; "
               "He's accuracy at every depth <= he_learns_depth",
        not_by_construction="accuracy is what training reaches from each initialisation; the rate each init uses is "
                            "chosen on held-out training data, so He is not failed by an untuned rate. The first "
                            "design (2026-12-01) trained one rate and judged learn/fail states per depth (judge "
                            "`xz4`, kept for its snapshot)",
        control="He init at shallow depth (<= he_learns_depth) must learn, at least half way from chance to the "
                "best mean accuracy of the grid: otherwise the pipeline, not the depth, failed it",
        draws="seeds per (init, rate, depth) cell (on a CPU at paper scale 3, R3's allowance)",
        interval="Welch t interval of the difference of the two inits' mean accuracies over their seeds "
                 "(uncertainty.welch_interval); Student-t over seeds for He's accuracies",
        target_source="reconstructed (journal version not available): convergent - He > 0 and He below chance + "
                      "learning_margin at the deepest D",
        tolerance_reason="learning_margin above chance separates learning from guessing; half way to the best "
                         "accuracy calls a shallow net trained",
        budget="epochs of Adam per cell, the same for both inits and both rates",
        values=("seeds", "depths", "lrs", "validation", "epochs", "learning_margin", "he_learns_depth")),
    "XZ.5": Card(
        statement="Xu & Zhang's necessary conditions: if W(n) does not tend to I, or b(n) does not tend to 0, the "
                  "outputs do not converge; shown on sequences that break one condition each.",
        judged="per random sequence of each arm, the slope of log osc(D) against log D (R1), and how far the "
               "outputs' norm strays from the inputs'",
        not_by_construction="the arms fix each layer (a limit P != I, or b0 != 0), not whether the composed "
                            "outputs settle: relu can damp a cycle or absorb a drift, and the window oscillation sees "
                            "a cycle of odd period that an endpoint gap would miss",
        control="XZ.2's alpha = 1 sequences (both conditions met, summably) must converge: slope <= -converged_slope, "
                "outputs within 1e-3..1e3 of the inputs (its stored ratios)",
        draws="random sequences (G(n), g(n) and b0), `sequences` per arm", interval=_T,
        target_source="ours: the necessary trends W(n) -> I, b(n) -> 0 (the paper's exact hypotheses are in its "
                      "journal version, not available)",
        tolerance_reason="no_decay_slope: a slope above it is no convergence; outputs within three orders of "
                         "magnitude so that a collapse or blow-up is not read as a failure to converge",
        budget="no training; depths to `depth`, the grid and width of XZ.2",
        values=("min_depth", "depth", "width", "sequences", "perturbation_alpha", "drift", "no_decay_slope",
                "converged_slope")),
    "CRX.1": Card(
        statement="When the inputs are nearly orthogonal (n <= d), full-batch gradient descent on the scaled "
                  "ResNet converges linearly to the global optimum (zero loss); when they are not (n = 2d), it "
                  "does not within the same budget.",
        judged="per seed: the smallest r2 of log(loss) against the GD step over depths (steps >= fit_from), and "
               "the largest log10(final / initial loss) over depths",
        not_by_construction="the loss curve is what gradient descent produces; the rate's depth-independence is "
                            "built in by the L^-1/2 scaling (the starting kernel is the same for every L), so "
                            "the rate's spread over depth and its ratio to 2 eta lambda_min / N are reported, "
                            "not judged",
        control="crowded data (n = 2d unit inputs, random targets) at the treated arm's steps and step size: "
                "log10(final / initial loss) must stay at or above log10(plateau_fraction x the linear "
                "least-squares residual / initial loss); non-degenerate: output / input norm of the trained "
                "networks per seed",
        draws="seeds", interval=_T,
        target_source="reconstructed from the abstract and companion code (linear convergence to the global "
                      "optimum under the data condition)",
        tolerance_reason="r2 >= r2_min for a straight line in log(loss); final loss <= optimum_ratio x initial "
                         "for the optimum, within the step budget",
        budget="steps of GD at lr, the same for both arms; the targets (random unit, or near identity) are a "
               "declared sensitivity choice",
        values=("seeds", "depths", "control_depths", "steps", "lr", "fit_from", "r2_min", "optimum_ratio",
                "plateau_fraction", "targets")),
    "CRX.2": Card(
        statement="After training, max_k ||A(k)|| scales like L^-beta with beta = 1/2; reported, not judged.",
        judged="nothing: beta from a log-log fit per seed is reported with its interval and the target beside it",
        not_by_construction="it is fixed: beta = 1/2 is what the L^-1/2 branch scaling gives (R1), so the row "
                            "moved from judged to reported; the limit it stands for (the trained paths converge) "
                            "is judged by CRX.6. Earlier design: judged against beta_target "
                            "+- beta_tolerance",
        control="none: a reported number has no failing arm", draws="seeds", interval=_T,
        target_source="reconstructed: `beta_target`, the L^-1/2 scaling (shown, not judged)",
        tolerance_reason="no tolerance: reported (beta_tolerance is kept to show how far the seeds are from the "
                         "target)",
        budget="CRX.1's GD steps", values=("seeds", "depths", "beta_target", "beta_tolerance")),
    "CRX.3": Card(
        statement="The weights along depth have a limit of finite 2-variation.",
        judged="growth exponents in L of the p-variations, per initialisation, fitted per seed",
        not_by_construction="for random initialisations it is fixed by the initialisation's noise; the zero "
                            "initialisation's exponent is what training produced. So the same exponents of the "
                            "training displacement L^(1/2) (A_T(k) - A_0(k)), what gradient descent produced, are "
                            "reported beside them (A_0 rebuilt from the cell's generators)",
        control="the initialisations whose variation grows are the contrast",
        draws="seeds; the zero initialisation, trained from zero on fixed data, gives the same number in every seed: "
              "deterministic, no interval",
        interval=_T, target_source="reconstructed", tolerance_reason="+-exponent_tolerance for fits over few depths",
        budget="steps of GD", values=("seeds", "depths", "inits", "steps", "exponent_tolerance")),
    "CRX.4": Card(
        statement="Trained weights scale like L^-beta with the companion's beta per model and dataset; first a "
                  "sensitivity result over the protocol's open choices.",
        judged="beta per (dataset, model), fitted per seed over the depths where every seed stopped at the loss "
               "threshold (so that every fitted depth is trained to the same loss; the others are named); at least "
               "4 such depths spanning a factor 4, else 'not fitted'; R4's local-slope and monotonicity check of the "
               "mean curve, a broken law not reproduced",
        not_by_construction="with small initial weights, beta is what training produced",
        control="none: the sensitivity table shows how beta moves with each open choice", draws="seeds",
        interval=_T, target_source="reconstructed: constants in the companion's plotting code",
        tolerance_reason="+-beta_tolerance (also R4's bound on the two halves' local slopes)",
        budget="epochs with the companion's stopping rule",
        values=("seeds", "max_depth", "epochs", "s0", "loss_threshold", "beta_tolerance"),
        constants=("cont_rossier_xu:CRX4_TARGETS",)),
    "CRX.5": Card(
        statement="The linear rate of full-batch GD (CRX.1) is set by the data through lambda_min / N: the smallest "
                  "eigenvalue of the inputs' Gram matrix over the number of samples (the loss is a mean).",
        judged="Spearman's rho, over the grid's cells (width x N/d x overlap rho), between the cell's mean fitted "
               "rate (slope of log loss over steps >= fit_from, per seed) and lambda_min / N of its inputs",
        not_by_construction="the grid sets lambda_min / N; the rate is what training does with it (against lambda_min "
                            "alone a stand-in gave 0.47: the N in the denominator is the claim's content)",
        control="crowded cells (N = 2d random unit inputs, lambda_min = 0): the loss stays >= plateau_fraction x the "
                "linear least-squares residual at the same step budget, per seed the smallest margin over widths; "
                "outputs within 1e-3..1e3 of the inputs",
        draws="seeds per cell (the cell means enter the correlation; the interval resamples cells)",
        interval="BCa bootstrap over cells of Spearman's rho (uncertainty.spearman_interval); Student-t over seeds "
                 "for the control",
        target_source="ours: the kernel regime's rate 2 eta lambda_min / N (a stand-in gave rho 0.99)",
        tolerance_reason="spearman_min: a clearly monotone relation over the grid",
        budget="steps of full-batch GD per cell at depth L",
        values=("depth", "widths", "n_ratios", "rhos", "seeds", "steps", "spearman_min", "plateau_fraction")),
    "CRX.6": Card(
        statement="The finite 2-variation result is conditional on the trained weights having a scaling limit: "
                  "the paths X_L(s) = L^(1/2) A(floor(sL)) on [0, 1] converge as L grows.",
        judged="per seed, the slope of log ||X_L - X_2L|| (L2 over s, Frobenius in the matrix) against log L over "
               "the doubling grid, for the zero initialisation's weights and for the training displacement "
               "L^(1/2) (A_T - A_0) of every initialisation of CRX.3's table (N(0, 1/d), outside the scaled "
               "regime, is reported)",
        not_by_construction="the zero initialisation's weights and every displacement are what gradient descent "
                            "produced; the random initialisations' own weights are set by their noise "
                            "(N(0, 1/(dL^2)) decays, N(0, 1/(dL)) does not), so they are reported, not judged",
        control="none: no failing control exists for this statement (the random initialisations' weights are the "
                "contrast, reported)",
        draws="seeds; the zero initialisation gives the same number in every seed (deterministic, no interval), and "
              "from A_0 = 0 its displacement is its weights, judged once",
        interval=_T, target_source="ours: a decay at least like L^-converged_slope",
        tolerance_reason="converged_slope: a clear decay, well away from a flat distance",
        budget="steps of GD (the CRX.3 training)", values=("seeds", "depths", "inits", "steps", "converged_slope")),
    "TvG.1": Card(
        statement="The minimum values m_N of the discrete objectives E_N converge as N grows, at about first order.",
        judged="the last fit_last observed orders log2(|m_N - m_2N| / |m_2N - m_4N|), m_N the best objective over "
               "the converged solves of every chain at N (cold starts, warm, best-so-far; R5)",
        not_by_construction="minima of non-convex problems; nothing imposes their rate. The first design read "
                            "minima that mixed branches (a cold minimum at one N, greedy ones elsewhere)",
        control="none here (TvG.5 and TvG.6's a1 = 0 arm are the ablation of the penalty)",
        draws="deterministic", interval=_DET,
        target_source="ours: order about 1 (a first-order discretisation)",
        tolerance_reason="order 1 +- order_tolerance",
        budget="max_iter L-BFGS iterations per solve; m_N from converged solves only (max-abs gradient <= gtol); a "
               "depth without one makes the row inconclusive",
        values=("depths", "cold_starts", "max_iter", "gtol", "order_tolerance", "fit_last")),
    "TvG.2": Card(
        statement="The minimisers of E_N converge as N grows (the H1 penalty makes them equi-coercive in H1).",
        judged="the log-log slope in N of the exact L2 distance between the piecewise-linear (K, b) profiles of the "
               "best converged minimisers at N and 2N (R5), over the doubling grid, with R4's check",
        not_by_construction="minimisers are found by the solver; nothing imposes their distances. The first design "
                            "read the warm chain, whose deepest objective was not the minimum (R5)",
        control="TvG.5's distance (a1 = 0, the same chains) must not shrink: slope >= -no_decay_slope, with its "
                "minimisers' outputs ||X_N(1)|| / ||x|| within 1e-3..1e3",
        draws="deterministic", interval=_DET,
        target_source="ours: a stand-in gave 0.139, 0.054, 0.027 (slope about -1)",
        tolerance_reason="converged_slope: clearly shrinking; R4's law_tolerance for the two halves",
        budget="max_iter L-BFGS iterations per solve; cold_starts cold chains, warm and best-so-far",
        values=("depths", "cold_starts", "max_iter", "gtol", "converged_slope", "no_decay_slope", "law_tolerance")),
    "TvG.3": Card(
        statement="At fixed parameters, the Euler ResNet differs from an accurate ODE solve by O(1/N): a sanity "
                  "check of the discretisation, not the paper's result.",
        judged="the order in N of the Euler error",
        not_by_construction="it is not a test of the paper: theory fixes the order (Euler is first order), and the "
                            "row checks that our forward map and ODE solver meet it",
        control="none: a consistency check", draws="deterministic", interval=_DET,
        target_source="ours: order 1", tolerance_reason="order 1 +- order_tolerance",
        budget="no optimisation", values=("euler_depths", "order_tolerance")),
    "TvG.4": Card(
        statement="The continuum (ODE-constrained) problem's minimum equals the limit of the discrete minima.",
        judged="the relative gap of the continuum minimum at the finest node count to the Richardson m_inf of "
               "TvG.1, and its relative change from the next coarser node count; the K(t) distance to the deepest "
               "best discrete minimiser is reported",
        not_by_construction="the continuum problem is solved from random starts (never from a discrete solution: "
                            "the first design warm-started it from the deepest one, so the profile match followed "
                            "from the start), with a fixed-step RK4 aligned to the nodes",
        control="none: a comparison of two solves of one problem", draws="deterministic", interval=_DET,
        target_source="ours: the continuum minimum equals the limit of the discrete minima",
        tolerance_reason="relative continuum_tolerance: the node discretisation's error",
        budget="continuum_max_iter L-BFGS iterations per start; a continuum solve above gtol makes it inconclusive",
        values=("continuum_nodes", "continuum_cold_starts", "continuum_max_iter", "gtol", "continuum_tolerance")),
    "TvG.5": Card(
        statement="Without the H1 penalty (a1 = 0), the minimisers do not converge: the ablation of TvG.2.",
        judged="TvG.2's slope on the a1 = 0 chains (the same cold, warm and best-so-far chains), and that their "
               "minimisers are not degenerate",
        not_by_construction="minimisers are found by the solver; without the penalty nothing ties the layers of "
                            "the minimiser at N to those at 2N",
        control="this row is TvG.2's control (TvG.2's slope shown beside it)", draws="deterministic", interval=_DET,
        target_source="ours",
        tolerance_reason="a slope not below -no_decay_slope counts as no decay; outputs within 1e-3..1e3 of inputs",
        budget="max_iter L-BFGS iterations per solve; a depth without a converged a1 = 0 solve makes it inconclusive",
        values=("depths", "cold_starts", "max_iter", "gtol", "no_decay_slope")),
    "TvG.6": Card(
        statement="E_N Gamma-converges to E_inf: for minimisers theta_N, E_inf of their interpolation is not much "
                  "above E_N(theta_N) (liminf), and the continuum minimiser sampled on the depth-N grid is a "
                  "recovery sequence (limsup); together, min E_N and min E_inf sandwich each other.",
        judged="the log-log slope in N of the liminf gap |E_inf(interp theta_N) - E_N(theta_N)| (theta_N the best "
               "converged minimiser, R5) with R4's check; the number of N where m_N > E_N(theta* sampled) or "
               "m_inf > E_inf(interp theta_N) beyond the tolerance (the continuum's refinement gap plus the solves')",
        not_by_construction="the two objectives are evaluated at minimisers the solver found; the interpolation's "
                            "ODE and integral penalty differ from the Euler sum and the Riemann sum at every N",
        control="a1 = 0: the smallest of its liminf gaps over the last three N must be >= 10x the largest treated "
                "gap there (rough minimisers: its gap is non-monotone, so no slope), its minimisers' outputs within "
                "1e-3..1e3 of the inputs. The recovery gap is reported: a discretisation check like TvG.3",
        draws="deterministic", interval=_DET,
        target_source="ours: a stand-in gave gaps 2.3e-3, 7.8e-4, 2.7e-4, 1.05e-4 (slope about -1.4)",
        tolerance_reason="converged_slope; the sandwich within what the finest continuum solve can resolve",
        budget="the solves of TvG.1, TvG.2 and TvG.4; each E_inf evaluated by RK4 on the N + 1 closed nodes of "
               "the interpolation",
        values=("depths", "converged_slope", "law_tolerance", "continuum_nodes", "gtol")),
}


def claim_of(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}; registered: {', '.join(CLAIMS)}") from None


def analysis_of(name: str) -> Analysis:
    try:
        return ANALYSES[name]
    except KeyError:
        raise KeyError(f"unknown analysis {name!r}; registered: {', '.join(ANALYSES)}") from None


def claims_of(analysis: str) -> list[Claim]:
    """The claims whose file `analysis` writes (a CPU part writes its claim's file too)."""
    return [c for c in CLAIMS.values() if c.analysis == analysis or analysis in c.cpu_parts]


def claim_output(claim: Claim, analysis: str | None = None) -> str:
    """The output path (under results/<scale>/) of the claim's file written by `analysis`."""
    return analysis_of(analysis or claim.analysis).outputs[claim.output]


def sensitivity_run(path: str, run: str = "{run}") -> str:
    """Where a sensitivity run writes an output: `<folder>/sensitivity/<run>/<name>`."""
    p = Path(path)
    return str(p.parent / SENSITIVITY_DIR / run / p.name)


def sensitivity_path(claim: Claim) -> str:
    """A claim's sensitivity table (no extension): beside its file, `sensitivity` in place of
    `claim` in the name (claim.json -> sensitivity, claim_tvg1.json -> sensitivity_tvg1)."""
    p = Path(claim_output(claim))
    return str(p.parent / p.stem.replace("claim", "sensitivity", 1))


def figure_files(claim: Claim, dataset: str = "") -> dict[str, str]:
    """The claim's figures (paths under results/<scale>/)."""
    return {k: f"figures/{claim.paper}/{v.format(dataset=dataset)}" for k, v in claim.figures.items()}


def sensitivity_figure(claim_id: str, label: str = "") -> str:
    """The file name (under figures/<paper>/) of a claim part's sensitivity figure."""
    return f"{claim_id.lower().replace('.', '')}{'_' + label if label else ''}_sensitivity.png"


def claim_figures(claim: Claim, datasets: dict[str, list[str]]) -> dict[str | None, list[str]]:
    """A claim's figures by dataset (key None: figures not drawn per dataset); `datasets` maps
    an experiment to its datasets."""
    if any("{dataset}" in v for v in claim.figures.values()):
        return {ds: list(figure_files(claim, ds).values())
                for ds in datasets.get(analysis_of(claim.analysis).experiment, [])}
    return {None: list(figure_files(claim).values())}


def paper_figures(paper: str, datasets: dict[str, list[str]], claims=None) -> list[str]:
    """Every figure a paper's notebook draws (for `claims` only, when given)."""
    out = [f for c in CLAIMS.values() if c.paper == paper and (claims is None or c.id in claims)
           for files in claim_figures(c, datasets).values() for f in files]
    return list(dict.fromkeys(out))


def paper_caption(paper: str) -> str:
    """A paper's figures in one caption (RST-safe: a bar, which would start a substitution,
    is escaped)."""
    return " ".join(c.caption for c in CLAIMS.values() if c.paper == paper and c.caption).replace("|", "\\|")


def figure_captions(paper: str, datasets=()) -> dict[str, str]:
    """Each figure of a paper (its file name without .png, for each of `datasets`) -> its own
    caption for the report: what it plots (the claim's caption) and what the claim expects
    (its card's target), RST-safe (bars escaped). The verdict is the landing page's: a caption drawn
    from results would change the rule's params after every run, and so rerun it."""
    out = {}
    for c in CLAIMS.values():
        if c.paper != paper:
            continue
        card = CARDS.get(c.id)
        text = (c.caption or f"{c.id}: {c.statement}.") + (f" {c.id} expects: {card.target_source}." if card else "")
        for name in c.figures.values():
            for ds in (datasets if "{dataset}" in name else [""]):
                key = name.format(dataset=ds).removesuffix(".png")
                # A figure two claims read: the first (whose caption it is) describes it.
                out[key] = out[key] + f" Also read by {c.id}." if key in out else text.replace("|", "\\|")
    return out


class Results:
    """Where a scale's results lie, for notebooks and tests: `Results(root).path("xz34",
    "accuracy")`, `.claim("XZ.4")`, `.figure("CRX.3", "profiles")`. `cpu_only`: the results
    of a run of the claims that fit a CPU (the CPU table's)."""

    def __init__(self, root, cpu_only: bool = False):
        self.root = Path(root)
        self.cpu_only = cpu_only

    def path(self, analysis: str, key: str, **wildcards) -> Path:
        return self.root / analysis_of(analysis).outputs[key].format(**wildcards)

    def outputs(self, analysis: str, **wildcards) -> dict[str, Path]:
        """Every output of an analysis (what a rule passes it), e.g. to run one in a test."""
        return {k: self.root / v.format(**wildcards) for k, v in analysis_of(analysis).outputs.items()}

    def glob(self, analysis: str, key: str) -> list[Path]:
        """One file per dataset (or alpha) that exists, sorted."""
        pattern = analysis_of(analysis).outputs[key].replace("{dataset}", "*").replace("{alpha}", "*")
        return sorted(self.root.glob(pattern))

    def claim(self, claim_id: str, dataset: str = "") -> Path:
        return self.root / claim_output(claim_of(claim_id)).format(dataset=dataset)

    def sensitivity(self, claim_id: str, dataset: str = "") -> Path:
        """The claim's sensitivity table (CSV), when its experiment declares choices."""
        return self.root / (sensitivity_path(claim_of(claim_id)).format(dataset=dataset) + ".csv")

    def reference(self, name: str, reference_dir) -> Path:
        return Path(reference_dir) / REFERENCES[name]

    def figure(self, claim_id: str, name: str, dataset: str = "") -> Path:
        return self.root / figure_files(claim_of(claim_id), dataset)[name]

    def paper_claims(self, paper: str, datasets=(), cpu_only: bool = False) -> list[Path]:
        """The paper's claim files in table order (per-dataset claims once per dataset); with
        cpu_only, those that fit a CPU, a claim's CPU part standing in for it (HZ.1)."""
        out = []
        for c in CLAIMS.values():
            if c.paper != paper:
                continue
            analysis = c.analysis
            if cpu_only and not analysis_of(analysis).cpu:
                if not c.cpu_parts:
                    continue
                analysis = c.cpu_parts[0]
            pattern = self.root / claim_output(c, analysis)
            per = "{dataset}" in str(pattern)
            out += [Path(str(pattern).format(dataset=ds)) for ds in datasets] if per else [pattern]
        return out
