"""Figures of the replication, drawn with seaborn from the analysis tables.

Each function takes the tables it draws and a path, writes a PNG and returns the
figure. Wherever the authors published numbers, they are overlaid as "paper".
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import matplotlib

# Outside a notebook kernel there is no screen: draw to files. Inside one, keep the inline
# backend, so each figure also shows under the cell that makes it.
if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter, NullLocator  # noqa: E402

from deeplimits.registry import sensitivity_figure  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")


# A figure names the claim it shows in a title (its own or a panel's).
CLAIM_ID = re.compile(r"\b(HZ|XZ|CRX|TvG)\.\d")


def lint_figure(fig) -> None:
    """What every figure of the replication keeps to, checked as it is saved: a claim id in a
    title, and major tick labels only on log axes (minor ones collide). With the environment's
    DEEPLIMITS_FIGURE_LINT=strict (the smoke run of make test) also: no legend over a data
    point. Text cannot leave the canvas: figures are saved with a tight bounding box."""
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    if not any(CLAIM_ID.search(t) for t in titles):
        raise ValueError(f"figure without a claim id in any title: {[t for t in titles if t]}")
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_minor_formatter(NullFormatter())
    if os.environ.get("DEEPLIMITS_FIGURE_LINT") == "strict":
        covered = legends_over_data(fig)
        if covered:
            raise ValueError(f"figure {titles}: a legend covers data points: {covered}")


def legends_over_data(fig) -> list[str]:
    """The legends (by their axes' title) that cover a plotted point of any axes, from the
    artists' bounding boxes in display coordinates after a draw."""
    fig.canvas.draw()
    legends = [(ax.get_title(), ax.get_legend()) for ax in fig.axes if ax.get_legend()]
    legends += [("figure", leg) for leg in fig.legends]
    found = []
    for name, legend in legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            points = [line.get_transform().transform(line.get_xydata()) for line in ax.lines
                      if line.get_visible() and len(line.get_xydata())]
            points += [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
                       if isinstance(c, PathCollection) and c.get_visible() and len(c.get_offsets())]
            inside = [p for arr in points for p in np.atleast_2d(arr) if np.all(np.isfinite(p))
                      and box.x0 < p[0] < box.x1 and box.y0 < p[1] < box.y1]
            if inside:
                found.append(f"legend of {name or 'the figure'} over {len(inside)} points of {ax.get_title()!r}")
    return found


def _label_log_axes(fig) -> None:
    """A log axis that spans under about a decade shows one labelled tick or none: label it at
    1, 2 and 5 (then every digit) times the powers of ten instead. A depth axis labelled at its
    depths (_depth_ticks) is left as it is."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator

    fig.canvas.draw()  # the limits are final
    for ax in fig.axes:
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if axis.get_scale() != "log" or isinstance(axis.get_major_locator(), FixedLocator):
                continue
            lo, hi = sorted(lim)
            for subs in (None, (1.0, 2.0, 5.0), tuple(range(1, 10))):
                if subs:
                    axis.set_major_locator(LogLocator(subs=subs))
                    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                if sum(lo <= t <= hi for t in axis.get_majorticklocs()) >= 2:
                    break


def _save(fig, path) -> None:
    _label_log_axes(fig)
    lint_figure(fig)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # A tight bounding box keeps titles and labels placed outside the axes on the canvas.
    fig.savefig(path, dpi=120, bbox_inches="tight")


def _depth_ticks(ax, depths) -> None:
    """A log depth axis labelled at the depths used (when few), with no minor tick labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    depths = sorted({int(d) for d in depths})
    if len(depths) <= 10:
        ax.xaxis.set_major_locator(FixedLocator(depths))
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _guide(ax, x, y0, slope: float, label: str, fmt: str = "k--", **style) -> None:
    """A guide line of the given log-log slope through (x[0], y0); dashed black unless `fmt`
    and `style` say otherwise (a claimed rate is dotted grey)."""
    x = np.asarray(x, dtype=float)
    ax.plot(x, y0 * (x / x[0]) ** slope, fmt, **({"lw": 0.8} | style), label=label)


# One colour per alpha in every figure of Huang & Zhang and of Xu & Zhang: the treated
# alpha = 1 blue (XZ's convergent init too), the control alpha = -0.5 grey, He init red.
ALPHA_COLOURS = {1.0: "C0", 0.5: "C2", 0.2: "C1", 0.1: "C4", 0.0: "C8", -0.25: "C5", -0.5: "C7"}


def alpha_colour(alpha) -> str:
    return ALPHA_COLOURS.get(round(float(alpha), 6), "C9")


def alpha_palette(labels) -> dict:
    """A hue palette for alphas written as labels (f"{alpha:g}")."""
    return {label: alpha_colour(label) for label in labels}


def plot_hz1_increments(increments: pd.DataFrame, reference: pd.DataFrame, ref_alpha: float, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    data = increments.assign(alpha=increments.alpha.map(lambda a: f"{a:g}"))
    # The mean over the random networks, shaded from the lowest to the highest of them.
    sns.lineplot(data=data, x="n", y="diff", hue="alpha", ax=ax, lw=1, errorbar=("pi", 100),
                 palette=alpha_palette(data.alpha.unique()))
    ax.plot(reference.layer, reference.difference_maxabs, "k--", lw=1.2,
            label=f"paper (authors' run), alpha={ref_alpha:g}")
    ax.set(xscale="log", yscale="log", xlabel="block n", ylabel="max |y(n) - y(n-1)|",
           title="HZ.1: increments of random scaled ResNets\n(mean over the networks; band: their range)")
    ax.legend(title="alpha", fontsize=7, loc="lower left")  # the curves start high at small n
    _save(fig, path)
    return fig


def plot_hz2_training(history: pd.DataFrame, reference: pd.DataFrame | None, path, dataset: str):
    """Loss and accuracy per epoch on both splits: the mean over seeds, their range shaded."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, quantity in zip(axes, ("loss", "accuracy")):
        long = history.melt(id_vars=["epoch", "seed"], value_vars=[f"train_{quantity}", f"test_{quantity}"],
                            var_name="split", value_name=quantity)
        long["split"] = long.split.str.replace(f"_{quantity}", "")
        sns.lineplot(data=long, x="epoch", y=quantity, hue="split", ax=ax, errorbar=("pi", 100))
    if reference is not None:
        axes[0].plot(reference.epoch, reference.val_loss, "k--", lw=1, label="paper test_loss")
        axes[1].plot(reference.epoch, reference.val_accuracy, "k--", lw=1, label="paper test_accuracy")
        axes[1].plot(reference.epoch, reference.accuracy, "k:", lw=1, label="paper train_accuracy")
        for ax in axes:
            ax.legend(fontsize=7)
    fig.suptitle(f"HZ.2 training on {dataset} (this run: mean over seeds, band their range"
                 + ("; authors' CIFAR-10 run dashed)" if reference is not None else ")"))
    _save(fig, path)
    return fig


def plot_hz2_partial_sums(sums: pd.DataFrame, reference: pd.DataFrame, path):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, col, ref_col in ((axes[0], "A", "A_partial_sum_weights"), (axes[1], "B", "B_partial_sum_biases")):
        sns.lineplot(data=sums, x="n", y=col, ax=ax, errorbar=("pi", 100), label="this run")
        ax.plot(reference.n, reference[ref_col], "k--", lw=1, label="paper (CIFAR-10, D=75, width 128)")
        ax.set(xlabel="blocks N", ylabel=f"{col}(N)", title=f"partial sum {col}(N)")
        ax.legend(fontsize=7)
    fig.suptitle("HZ.2 partial sums in the authors' normalisation")
    _save(fig, path)
    return fig


def plot_hz3_truncation(trunc: pd.DataFrame, path):
    """The head on each depth-n prefix against the full network (reported): the distance, and
    the top-1 agreement with the 0.99 level that defines n*."""
    from .analysis.huang_zhang import AGREEMENT

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    positive = trunc[trunc.distance > 0]
    sns.lineplot(data=positive, x="n", y="distance", ax=axes[0], errorbar=("pi", 100))
    axes[0].set(yscale="log", xlabel="prefix depth n", ylabel="mean ||f(n) - f(D)||_2",
                title="HZ.3 truncated network vs full network")
    sns.lineplot(data=trunc, x="n", y="agreement", ax=axes[1], errorbar=("pi", 100))
    axes[1].axhline(AGREEMENT, color="0.4", lw=0.8, ls=":", label=f"agreement {AGREEMENT} (defines n*)")
    axes[1].set(xlabel="prefix depth n", ylabel="top-1 agreement with f(D)", ylim=(0, 1.02),
                title="HZ.3 top-1 agreement (reported)")
    axes[1].legend(fontsize=7, loc="lower right")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)
    return fig


def plot_hz4_grid(grid: pd.DataFrame, slopes: pd.DataFrame, path, guide_slope: float | None = None):
    """Left: the half-depth gap g(D) per alpha, mean over seeds (their range shaded), trained
    solid and at initialisation dashed, log-log (the judged slope). Middle: test accuracy (the
    control is a working network). Right: the partial sums A(D) (bounded by construction)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    alphas = sorted(grid.alpha.unique())
    roles = dict(zip(slopes.alpha, slopes.role))
    colours = {a: alpha_colour(a) for a in alphas}
    for a in alphas:
        cell = grid[grid.alpha == a]
        label = f"alpha = {a:g} ({roles.get(a, 'reported')})"
        for col, ls, lab in (("gap", "-", label), ("gap_at_init", "--", None)):
            stats = cell.groupby("depth")[col].agg(["mean", "min", "max"])
            axes[0].plot(stats.index, stats["mean"], ls, marker="o" if ls == "-" else None, color=colours[a], label=lab)
            if ls == "-":
                axes[0].fill_between(stats.index, stats["min"], stats["max"], color=colours[a], alpha=0.15)
        for ax, col in ((axes[1], "test_accuracy"), (axes[2], "A")):
            stats = cell.groupby("depth")[col].mean()
            ax.plot(stats.index, stats.values, marker="o", color=colours[a], label=label)
    axes[0].plot([], [], "k--", label="at initialisation")
    treated = slopes[slopes.role == "treated"].alpha
    if guide_slope is not None and len(treated):
        first = grid[(grid.alpha == treated.iloc[0]) & (grid.depth == grid.depth.min())].gap.mean()
        _guide(axes[0], np.sort(grid.depth.unique()), first, guide_slope, f"claimed rate: slope {guide_slope:g}",
               ":", color="0.3", lw=None)
    axes[0].set(xscale="log", yscale="log", xlabel="depth D", ylabel="g(D) = ||f(D/2) - f(D)|| / ||f(D)||",
                title="HZ.4 half-depth gap of the logits (judged)")
    axes[1].set(xscale="log", xlabel="depth D", ylabel="test accuracy", title="HZ.4 accuracy (reported)")
    axes[2].set(xscale="log", xlabel="depth D", ylabel="A(D) (authors' normalisation)",
                title="HZ.4 partial sums (bounded by construction)")
    for ax in axes:
        _depth_ticks(ax, grid.depth)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="lower center", ncols=len(alphas) + 1,
               bbox_to_anchor=(0.5, -0.08))
    _save(fig, path)
    return fig


def plot_crx1_loss(losses: pd.DataFrame, rates: pd.DataFrame, plateau_loss: float, path):
    """Left: the training loss per depth (mean over seeds, their range shaded) on n <= d data,
    and the control on crowded data (n = 2d) in grey with the floor it must not pass. Right:
    the fitted rate per seed against L (curves that overlap on the left separate here)."""
    fig, (ax, ax_rate) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    treated, control = losses[losses.arm == "treated"], losses[losses.arm == "control"]
    sns.lineplot(data=treated.assign(L=treated.depth.astype(str)), x="gd_step", y="train_loss", hue="L", ax=ax,
                 errorbar=("pi", 100))
    for depth, grp in control.groupby("depth"):
        mean = grp.groupby("gd_step").train_loss.mean()
        ax.plot(mean.index, mean.values, color="0.45", ls="--", label=f"control: n = 2d, L = {depth}")
    ax.axhline(plateau_loss, color="0.45", lw=0.8, ls=":", label="control's floor")
    ax.set(yscale="log", xlabel="GD step", ylabel="training loss (1/2N) sum ||h(L) - y||^2",
           title="CRX.1 loss: linear on n <= d data, stuck on n = 2d")
    ax.legend(fontsize=7, loc="lower left", ncols=2, title="depth L", title_fontsize=7)
    data = rates[rates.arm == "treated"]
    sns.stripplot(data=data, x="depth", y="rate", ax=ax_rate, color="C0", size=4, jitter=0.15)
    ax_rate.set(xlabel="depth L", ylabel="fitted rate d log(loss) / d step (per seed)",
                title="CRX.1 rate against depth (reported)")
    _save(fig, path)
    return fig


def plot_crx5_rates(rates: pd.DataFrame, plateau_fraction: float, path):
    """Left: each treated cell's rate (mean over seeds, their range as a bar) against
    lambda_min / N, colour by overlap rho, marker by width, with the kernel's proportionality
    as a guide. Right: the crowded control's final loss over its least-squares floor per seed."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    treated = rates[rates.arm == "treated"]
    cells = treated.groupby(["width", "n", "rho"]).agg(x=("lambda_min_over_n", "first"), mean=("rate", "mean"),
                                                        lo=("rate", "min"), hi=("rate", "max")).reset_index()
    rhos = sorted(cells.rho.unique())
    colours = dict(zip(rhos, sns.color_palette("viridis", len(rhos))))
    markers = dict(zip(sorted(cells.width.unique()), "osD^v"))
    for r in cells.itertuples():
        ax.errorbar(r.x, r.mean, yerr=[[r.mean - r.lo], [r.hi - r.mean]], fmt=markers[r.width], color=colours[r.rho],
                    ms=5, capsize=2)
    for rho, c in colours.items():
        ax.plot([], [], "s", color=c, label=f"rho = {rho:g}")
    for w, m in markers.items():
        ax.plot([], [], m, color="0.4", label=f"width d = {w}")
    ax.set(xscale="log", yscale="log", xlabel="lambda_min / N", ylabel="fitted rate -d log(loss) / d step",
           title="CRX.5 rate against lambda_min / N (judged: Spearman)")

    ax.legend(fontsize=7, loc="upper left")
    control = rates[rates.arm == "control"]
    ax2.scatter(control.width.astype(str), control.final_loss / control.least_squares_residual, color="0.4", s=14)
    ax2.axhline(plateau_fraction, color="k", ls=":", lw=1, label=f"the control's floor ({plateau_fraction:g} x least squares)")
    ax2.set(yscale="log", xlabel="width d (N = 2d)", ylabel="final loss / least-squares residual",
            title="CRX.5 control: crowded data")
    ax2.legend(fontsize=7)
    for axis in (ax.xaxis, ax.yaxis, ax2.yaxis):  # major ticks only on log axes
        axis.set_minor_formatter(NullFormatter())
    _save(fig, path)
    return fig


def plot_crx2_scaling(norms: pd.DataFrame, beta: float, path):
    fig, ax = plt.subplots(figsize=(5, 4))
    sns.lineplot(data=norms, x="depth", y="max_norm_A", marker="o", ax=ax, errorbar=("pi", 100),
                 label=f"this run (fitted beta = {beta:.3f})")
    ref = norms.groupby("depth").max_norm_A.mean()
    anchor = ref.iloc[0] * (ref.index[0] ** 0.5)
    ax.plot(ref.index, anchor * ref.index.to_numpy(float) ** -0.5, "k--", lw=1, label="L^-1/2 (claim)")
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="max_k ||A(k)||_F",
           title="CRX.2 weight scaling")
    _depth_ticks(ax, norms.depth)
    ax.legend(fontsize=7)
    _save(fig, path)
    return fig


def plot_xz1_pieces(pieces: pd.DataFrame, eps: float, path):
    """Linear pieces (kinks above eps x the output's scale) along the random segments against
    depth: per arm the median over draws, the middle half of the draws shaded."""
    data = pieces[pieces.eps == eps]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    # The arms in XZ's colours: the convergent sequences (treated) as alpha = 1, the control as
    # alpha = -0.5, He init red.
    palette = {n: INIT_COLOURS["he"] if n.startswith("He") else alpha_colour(-0.5) if "control" in n
               else alpha_colour(1) for n in data.network.unique()}
    sns.lineplot(data=data, x="depth", y="pieces", hue="network", ax=ax, estimator="median", errorbar=("pi", 50),
                 palette=palette)
    ax.set(yscale="log", xlabel="depth n", ylabel=f"linear pieces along the segment (eps = {eps:g})",
           title="XZ.1 linear pieces along random segments (median, middle half shaded)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside the axes: the curves fill them
    _save(fig, path)
    return fig


def _oscillation_lines(ax, data: pd.DataFrame, hue: str, palette=None, title: str = "") -> None:
    """osc(D) against D per `hue`: every random draw thin, their mean thick, log axes labelled
    at the depths used, the legend beside the axes."""
    sns.lineplot(data=data, x="D", y="osc", hue=hue, units="sequence", estimator=None, ax=ax, lw=0.4,
                 alpha=0.35, palette=palette, legend=False)
    sns.lineplot(data=data, x="D", y="osc", hue=hue, ax=ax, lw=2, errorbar=None, palette=palette, marker="o")
    ax.set(xscale="log", yscale="log", xlabel="depth D", ylabel="osc(D)", title=title)
    _depth_ticks(ax, data.D)
    ax.legend(title=hue, fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")


def plot_xz2_oscillation(oscillation: pd.DataFrame, path):
    """osc(D) against D per alpha, with the bound's rate D^-alpha as a guide for each treated alpha."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    data = oscillation.assign(alpha=oscillation.alpha.map(lambda a: f"{a:g}"))
    palette = alpha_palette(data.alpha.unique())
    _oscillation_lines(ax, data, "alpha", palette, "XZ.2: window oscillation of the outputs (dotted: D^-alpha)")
    for a, grp in oscillation.groupby("alpha"):
        if a > 0:
            d0 = grp.D.min()
            ref = grp[grp.D == d0].osc.mean()
            ax.plot(grp.D.unique(), ref * (grp.D.unique() / d0) ** -a, ls=":", lw=1, color=palette[f"{a:g}"])
    ax.set(xlabel="depth D (layers)")
    _save(fig, path)
    return fig


def plot_xz5_arms(arms: pd.DataFrame, xz2: pd.DataFrame, path):
    """osc(D) of XZ.5's arms beside XZ.2's alpha = 1 and 0 (each sequence thin, the mean thick)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    names = {"cycle": "(i) W(n) -> 3-cycle", "drift": "(ii) b(n) -> b0"}
    data = pd.concat([arms.assign(arm=arms.arm.map(names)),
                      *(xz2[xz2.alpha == a].assign(arm=f"XZ.2 alpha = {a:g}") for a in (1.0, 0.0))])
    # XZ.2's arms in their alpha's colour, as in XZ.2's own figure.
    palette = {names["cycle"]: "C9", names["drift"]: "C6", "XZ.2 alpha = 1": alpha_colour(1), "XZ.2 alpha = 0": alpha_colour(0)}
    _oscillation_lines(ax, data, "arm", palette, title="XZ.5: breaking a necessary condition (window oscillation)")
    ax.set(xlabel="depth D (layers)")
    _save(fig, path)
    return fig


def plot_hz5_arms(oscillation: pd.DataFrame, path, guide_slope: float | None = None):
    """osc(D) of HZ.5's four arms (which of the two series is summable), with the claimed rate
    of the treated arm (both summable) as a dotted guide through its first mean point."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    # The treated arm in the treated alpha's colour, the control (alpha = -0.5) in the control's.
    arms = list(dict.fromkeys(oscillation.arm))
    palette = dict(zip(arms, [alpha_colour(1), "C9", "C6", alpha_colour(-0.5)]))
    _oscillation_lines(ax, oscillation, "arm", palette, title="HZ.5: window oscillation per arm of the two series")
    treated = oscillation[oscillation.arm == oscillation.arm.iloc[0]]
    if guide_slope is not None and len(treated):
        depths = np.sort(treated.D.unique())
        first = treated[treated.D == depths[0]].osc.mean()
        _guide(ax, depths, first, guide_slope, f"claimed rate: slope {guide_slope:g}", ":", color="0.3", lw=None)
        ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    ax.set(xlabel="depth D (blocks)")
    _save(fig, path)
    return fig


def plot_xz2_increments(increments: pd.DataFrame, he: pd.DataFrame, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    data = increments.assign(alpha=increments.alpha.map(lambda a: f"{a:g}"))
    sns.lineplot(data=data, x="n", y="increment", hue="alpha", ax=axes[0], lw=1, palette=alpha_palette(data.alpha.unique()))
    axes[0].set(xscale="log", yscale="log", xlabel="layer n", ylabel="max_x ||N(n) - N(n-1)||_2",
                title="XZ.2: increments, the imposed rate n^-(1+alpha) (not judged)")
    sns.lineplot(data=he, x="n", y="output_norm", units="net", estimator=None, ax=axes[1], lw=0.8,
                 color=INIT_COLOURS["he"])
    axes[1].set(yscale="log", xlabel="layer n", ylabel="mean ||N(n)||_2", title="XZ.2 He init: the outputs collapse (no control;\none line per random network)")
    _save(fig, path)
    return fig


# The same colour for the same initialisation across XZ.3's and XZ.4's figures.
INIT_COLOURS = {"he": "C3", "convergent": "C0"}
INIT_NAMES = {"he": "He", "convergent": "convergent"}


def _init_name(init: str) -> str:
    return INIT_NAMES.get(init, init)


def plot_xz3_layer_norms(layers: pd.DataFrame, path):
    deepest = layers[layers.depth == layers.depth.max()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "W_minus_I", "||W(n) - I||_2"), (axes[1], "b_norm", "||b(n)||_2")):
        sns.lineplot(data=deepest.assign(init=deepest.init.map(_init_name)), x="n", y=col, hue="init",
                     palette={_init_name(k): v for k, v in INIT_COLOURS.items()}, ax=ax, errorbar=("pi", 100))
        ax.set(xscale="log", yscale="log", xlabel="layer n", ylabel=label)
    fig.suptitle(f"XZ.3 after training, D = {int(deepest.depth.iloc[0])} (mean over seeds; band: their range)")
    _save(fig, path)
    return fig


def plot_xz4_accuracy(accuracy: pd.DataFrame, chance: float, learns_from: float, path, he_learns_from=None):
    """Test accuracy against depth per init at its chosen learning rate (each seed a dot, the
    mean a line; the rate not chosen thin and dotted), with chance, the level He must stay
    under at the deepest D and, where given, the one it must reach when shallow. A table of
    the first design (one rate, no `chosen` column) is drawn as it is."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    chosen = accuracy[accuracy.chosen] if "chosen" in accuracy else accuracy
    for init, grp in chosen.groupby("init"):
        mean = grp.groupby("depth").test_accuracy.mean()
        ax.plot(mean.index, mean.values, "o-", color=INIT_COLOURS.get(init), label=f"{_init_name(init)} (chosen rate)")
        ax.scatter(grp.depth, grp.test_accuracy, color=INIT_COLOURS.get(init), alpha=0.4, s=12)
    if "chosen" in accuracy:
        for init, grp in accuracy[~accuracy.chosen].groupby("init"):
            mean = grp.groupby("depth").test_accuracy.mean()
            ax.plot(mean.index, mean.values, ":", lw=1, color=INIT_COLOURS.get(init), label=f"{_init_name(init)} (rate not chosen)")
    ax.axhline(chance, color="k", ls=":", lw=1, label="chance")
    ax.axhline(learns_from, color="k", ls="--", lw=1, label="He below this at the deepest D")
    if he_learns_from is not None:
        ax.axhline(he_learns_from, color="0.5", ls="-.", lw=1, label="He above this when shallow")
    ax.set(xscale="log", xlabel="depth D", ylabel="test accuracy", ylim=(0, 1),
           title="XZ.4 plain ReLU nets: He vs convergent init")
    _depth_ticks(ax, accuracy.depth)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    _save(fig, path)
    return fig


# The same colour for the same initialisation across CRX.3's and CRX.6's figures.
CRX3_INIT_COLOURS = {"zero": "C0", "iid_dL2": "C1", "iid_dL": "C2", "iid_d": "C3"}


def _legend_outside(grid) -> None:
    """A FacetGrid's legend to the right of the panels, off their data."""
    sns.move_legend(grid, "center left", bbox_to_anchor=(1.0, 0.5), frameon=False)


def plot_crx3_variation(variations: pd.DataFrame, path):
    long = variations.melt(id_vars=["init", "depth", "seed"], value_vars=["V1", "V2", "V3", "QV"],
                           var_name="statistic", value_name="value")
    grid = sns.relplot(data=long, x="depth", y="value", hue="init", col="statistic", kind="line",
                       marker="o", errorbar=("pi", 100), height=3, aspect=0.9, palette=CRX3_INIT_COLOURS,
                       hue_order=[i for i in CRX3_INIT_COLOURS if i in set(long.init)], facet_kws={"sharey": False})
    grid.set(xscale="log", yscale="log")
    for ax in grid.axes.flat:
        _depth_ticks(ax, long.depth)
    grid.set_axis_labels("depth L", "variation of the path")
    _legend_outside(grid)
    grid.figure.suptitle("CRX.3 p-variation of s -> L^1/2 A(k) (Frobenius), against depth L", y=1.03)
    _save(grid.figure, path)
    return grid.figure


def plot_crx3_profiles(profiles: pd.DataFrame, path):
    grid = sns.relplot(data=profiles.assign(L=profiles.depth.astype(str)), x="s", y="entry_00", hue="L",
                       col="init", kind="line", height=3, aspect=1.0, lw=0.8, facet_kws={"sharey": False})
    grid.set_axis_labels("s = k / L", "L^1/2 A(k)[0, 0]")
    grid.legend.set_title("depth L")
    _legend_outside(grid)
    grid.figure.suptitle("CRX.3 one weight entry along depth, seed 0", y=1.03)
    _save(grid.figure, path)
    return grid.figure


def _tvg_chains(ax, data: pd.DataFrame, title: str, best: pd.Series | None = None) -> None:
    """One objective's chains against N: the cold starts thin grey, the warm and best-so-far
    chains in colour, and `best` (m_N, the best converged solve per N, as judged) marked. The
    lowest solve per N is not m_N: a solve stopped above gtol can sit lower (R5)."""
    for chain, grp in data.groupby("chain", sort=False):
        name = str(chain).split("_a1=")[0]
        grp = grp.sort_values("N")
        if name.startswith("cold"):
            ax.plot(grp.N, grp.total, "-", color="0.65", lw=0.8, label="cold starts" if name == "cold0" else None)
        else:
            ax.plot(grp.N, grp.total, "o-", ms=3, lw=1.2, color={"warm": "C0", "greedy": "C2"}.get(name, "C4"),
                    label={"warm": "warm chain", "greedy": "best-so-far chain"}.get(name, name))
    if best is not None:
        ax.plot(best.index, best.values, "kx", ms=6, label="m_N (best converged solve)")
    ax.set(xscale="log", yscale="log", xlabel="depth N", ylabel="E_N at the chain's minimiser", title=title)
    _depth_ticks(ax, data.N)


def plot_tvg1_minima(objectives: pd.DataFrame, minima: pd.DataFrame, m_inf: float, continuum: float, path):
    """Left: the minimum values of every chain with the H1 penalty, m_N (`minima`, the best
    converged solve per N, TvG.1's table), the extrapolated m_inf and the continuum minimum;
    middle: the same chains without it (a1 = 0, another objective: its values sit lower); right:
    the successive differences of m_N, the numbers TvG.1 judges."""
    best = minima.set_index("N").m_N  # NaN where no solve converged: no difference spans it
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    treated, control = objectives[objectives.a1 > 0], objectives[objectives.a1 == 0]
    _tvg_chains(axes[0], treated, "TvG.1 minimum values (with the H1 penalty)", best.dropna())
    axes[0].axhline(m_inf, color="k", ls="--", lw=1, label=f"Richardson m_inf = {m_inf:.5f}")
    axes[0].axhline(continuum, color="r", ls=":", lw=1, label=f"continuum = {continuum:.5f}")
    if len(control):
        _tvg_chains(axes[1], control, "TvG.1 the same chains with a1 = 0")
    else:
        axes[1].set_axis_off()
    # One legend for both chain panels, below them: the chains fill the axes at some scales.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.36, 0.0), ncols=6)
    diffs = (best.shift(-1) - best).abs().dropna()
    axes[2].set(title="TvG.1 successive differences of m_N")
    if diffs.empty:  # fewer than two neighbouring depths with a converged solve (tiny sizes)
        axes[2].text(0.5, 0.5, "fewer than two depths\nwith a converged solve", ha="center", va="center",
                     transform=axes[2].transAxes)
    else:
        axes[2].plot(diffs.index, diffs.values, "o-", label="|m_N - m_2N|")
        axes[2].plot(diffs.index, diffs.values[0] * diffs.index[0] / diffs.index.to_numpy(float), "k--", lw=1,
                     label="order 1")
        axes[2].set(xscale="log", yscale="log", xlabel="depth N")
        _depth_ticks(axes[2], diffs.index)
        axes[2].legend(fontsize=7, loc="lower left")  # the differences fall from the upper left
    _save(fig, path)
    return fig


ARM_COLOURS = {"treated": "C0", "control": "C3"}



def claimed_rate(claim_file, prefix: str) -> float | None:
    """The edge of the band a claim judges its treated slope against (the rate it claims, e.g.
    -0.5 for "slope <= -0.5"), from its claim file's measures whose name starts with `prefix`."""
    if not Path(claim_file).exists():
        return None
    for m in json.loads(Path(claim_file).read_text())["values"].get("measures", []):
        if m.get("role", "treated") == "treated" and m["name"].startswith(prefix) and m.get("band_hi") is not None:
            return float(m["band_hi"])
    return None


def _nothing_to_draw(fig, ax, title: str, why: str, path):
    """A figure whose table is empty (no converged solve at tiny sizes) says so instead."""
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set(title=title, xticks=[], yticks=[])
    _save(fig, path)
    return fig


def plot_tvg2_distances(distances: pd.DataFrame, path):
    """The L2 distance between the best minimisers at N and 2N, with the H1 penalty (TvG.2) and
    without it (a1 = 0, TvG.5), with a slope -1 guide."""
    fig, ax = plt.subplots(figsize=(6, 4))
    if distances.empty:
        return _nothing_to_draw(fig, ax, "TvG.2 / TvG.5 distance between the best minimisers",
                                "no depth pair with two converged minimisers", path)
    for arm, grp in distances.groupby("arm"):
        grp = grp.sort_values("N")
        label = "with the H1 penalty (TvG.2)" if arm == "treated" else "a1 = 0 (TvG.5, control)"
        ax.plot(grp.N, grp.L2, "o-", color=ARM_COLOURS.get(arm), label=label)
    treated = distances[distances.arm == "treated"].sort_values("N")
    if len(treated):
        _guide(ax, treated.N, treated.L2.iloc[0], -1.0, "slope -1")
    ax.set(xscale="log", yscale="log", xlabel="depth N", ylabel="||theta_N - theta_2N||_L2 (best minimisers)",
           title="TvG.2 / TvG.5 distance between the best minimisers")
    _depth_ticks(ax, distances.N)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    _save(fig, path)
    return fig


def plot_tvg2_profiles(profiles: pd.DataFrame, path):
    grid = sns.relplot(data=profiles, x="t", y="value", hue="N", col="entry", kind="line",
                       height=2.8, aspect=1.2, palette="viridis", facet_kws={"sharey": False})
    grid.set_axis_labels("t = k / N", "K(t) entry")
    _legend_outside(grid)  # tight_layout alone lets it cover the last panel's right end
    grid.figure.suptitle("TvG.2 / TvG.4 the best minimiser's K(t) per depth N (N = inf: the continuum minimiser)",
                         y=1.04)
    _save(grid.figure, path)
    return grid.figure


def plot_tvg6_gaps(gaps: pd.DataFrame, path):
    """Left: the liminf gap |E_inf(interp theta_N) - E_N(theta_N)| per arm (judged) and the
    recovery gap (reported). Right: m_N and E_N(theta* sampled), the two sides of the sandwich."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    if gaps.empty:
        ax2.set_axis_off()
        return _nothing_to_draw(fig, ax, "TvG.6 Gamma-convergence gaps", "no converged minimiser at any depth", path)
    for arm, grp in gaps.groupby("arm"):
        grp = grp.sort_values("N")
        ax.plot(grp.N, grp.liminf_gap.abs(), "o-", color=ARM_COLOURS.get(arm),
                label="liminf gap, " + ("treated" if arm == "treated" else "a1 = 0 (control)"))
    t = gaps[gaps.arm == "treated"].sort_values("N")
    ax.plot(t.N, t.recovery_gap.abs(), "s:", color="0.4", label="recovery gap (reported)")
    if len(t):
        _guide(ax, t.N, abs(t.liminf_gap.iloc[0]), -1.0, "slope -1")
    ax.set(xscale="log", yscale="log", xlabel="depth N", ylabel="|gap|", title="TvG.6 Gamma-convergence gaps")
    ax2.plot(t.N, t.m_N, "o-", color="C0", label="m_N (best minimum)")
    ax2.plot(t.N, t.E_N_star, "s--", color="C2", label="E_N(theta* sampled) (>= m_N)")
    ax2.plot(t.N, t.E_inf_interp, "^:", color="C1", label="E_inf(interp theta_N) (>= m_inf)")
    ax2.set(xscale="log", xlabel="depth N", ylabel="objective", title="TvG.6 sandwich")
    for a in (ax, ax2):
        _depth_ticks(a, gaps.N)
        a.legend(fontsize=7)
    _save(fig, path)
    return fig


def plot_tvg3_euler(table: pd.DataFrame, path):
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(table.N, table.error, "o-", label="Euler vs dopri5")
    ax.plot(table.N, table.error.iloc[0] * table.N.iloc[0] / table.N, "k--", lw=1, label="O(1/N)")
    ax.set(xscale="log", yscale="log", xlabel="depth N", ylabel="max_x ||X_N(1) - x(1)||",
           title="TvG.3 forward consistency")
    _depth_ticks(ax, table.N)
    ax.legend(fontsize=7)
    _save(fig, path)
    return fig


def plot_crx6_distances(distances: pd.DataFrame, path):
    """||X_L - X_2L|| (L2) against L, per initialisation: the weights' paths and the training
    displacements', median over seeds with their range, and a guide slope of -1/2."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)
    for ax, quantity in zip(axes, ("weights", "displacement")):
        data = distances[distances.quantity == quantity]
        sns.lineplot(data=data, x="L", y="L2", hue="init", marker="o", ax=ax, errorbar=("pi", 100),
                     palette=CRX3_INIT_COLOURS, hue_order=[i for i in CRX3_INIT_COLOURS if i in set(data.init)])
        depths = np.array(sorted(data.L.unique()), dtype=float)
        anchor = data[data.L == depths[0]].L2.median()
        _guide(ax, depths, anchor, -0.5, "slope -1/2 (guide)", "k:")
        ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="||X_L - X_2L|| (L2 over s)",
               title=f"CRX.6 {'weights L^1/2 A' if quantity == 'weights' else 'displacement L^1/2 (A_T - A_0)'}")
        ax.set_xticks(depths, [str(int(d)) for d in depths], minor=False)
        ax.xaxis.set_minor_locator(NullLocator())
    # One legend for both panels, outside the data.
    axes[0].get_legend().remove()
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    _save(fig, path)
    return fig


def plot_crx4_scaling(scaling: pd.DataFrame, betas: pd.DataFrame, path):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    data = scaling.assign(series=scaling.dataset + " / " + scaling.model)
    sns.lineplot(data=data, x="depth", y="max_norm", hue="series", marker="o", ax=axes[0], errorbar=("pi", 100))
    for r in betas.itertuples():
        kept = [int(float(d)) for d in str(r.fitted_depths).split()] if pd.notna(r.fitted_depths) else []
        sub = data[(data.dataset == r.dataset) & (data.model == r.model)].groupby("depth").max_norm.mean()
        sub = sub[sub.index.isin(kept)]
        if not r.fitted or sub.empty:
            continue
        depths = sub.index.to_numpy(float)
        # Both lines over the fitted depths (every seed stopped at the loss threshold there),
        # anchored at the first of them: ours solid grey, the paper's dashed black.
        axes[0].plot(depths, sub.iloc[0] * (depths / depths[0]) ** -r.beta, "-", color="0.5", lw=2, alpha=0.6)
        if pd.notna(r.target):
            axes[0].plot(depths, sub.iloc[0] * (depths / depths[0]) ** -r.target, "k--", lw=0.8)
    axes[0].set(xscale="log", yscale="log", xlabel="depth L", ylabel="max_k ||A(k)||_F (relu: ||delta_k A(k)||_F)",
                title="scaling (grey: fitted beta; dashed: paper's)")
    sns.lineplot(data=data, x="depth", y="increment_scaled", hue="series", marker="o", ax=axes[1], legend=False)
    axes[1].set(xscale="log", yscale="log", xlabel="depth L", ylabel="L^beta max_k ||A(k+1) - A(k)||_F", title="Increment")
    sns.lineplot(data=data, x="depth", y="root_ssq", hue="series", marker="o", ax=axes[2], legend=False)
    axes[2].set(xscale="log", yscale="log", xlabel="depth L", ylabel="sqrt(sum_k ||A(k)||_F^2)", title="RootSSQ")
    for ax in axes:
        _depth_ticks(ax, data.depth)
    fig.suptitle("CRX.4 scaling properties (Cohen, Cont, Rossier & Xu 2021)")
    _save(fig, path)
    return fig


def plot_crx4_entry(decomposition: pd.DataFrame, path):
    data = decomposition.assign(series=decomposition.dataset + " / " + decomposition.model)
    grid = sns.relplot(data=data, x="s", y="entry", col="series", kind="line", height=3, aspect=1.2, lw=0.6,
                       facet_kws={"sharey": False})
    # Each panel's trend from its own series (the facets are in order of appearance, not sorted).
    for series, ax in grid.axes_dict.items():
        grp = data[data.series == series]
        ax.plot(grp.s, grp.trend, "r-", lw=1.5, label="trend (moving average)")
        ax.legend(fontsize=7)
    grid.set_axis_labels("s = k / L", "A(k)[0, 0]")
    grid.figure.suptitle(f"CRX.4 one weight entry at L = {int(decomposition.depth.max())}: trend + noise", y=1.03)
    _save(grid.figure, path)
    return grid.figure


def plot_crx4_stops(scaling: pd.DataFrame, path):
    """Where each seed stopped, against depth: the epoch, marked by the reason."""
    data = scaling.assign(series=scaling.dataset + " / " + scaling.model)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sns.scatterplot(data=data, x="depth", y="stop_epoch", hue="series", style="stop_reason", ax=ax, s=25)
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="epoch where training stopped",
           title="CRX.4 stop epochs (per seed)")
    _depth_ticks(ax, data.depth)
    sns.move_legend(ax, "center left", bbox_to_anchor=(1.02, 0.5), fontsize=7)
    _save(fig, path)
    return fig


def plot_sensitivity(table: pd.DataFrame, path, title: str):
    """Each judged number of a claim per sensitivity run, with its interval and target band."""
    data = table[table.measure.notna() & (table.measure.astype(str) != "")].copy()
    data["run"] = [c if pd.isna(v) or v == "" else f"{c}={v:g}" if isinstance(v, float) else f"{c}={v}"
                   for c, v in zip(data.choice, data.value)]
    names = list(dict.fromkeys(data.measure))
    # At most three panels a row: a claim with many judged numbers wraps instead of a strip.
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, (0.4 * data.run.nunique() + 1.8) * nrows),
                             squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_axis_off()
    colours = {"reproduced": "tab:green", "not reproduced": "tab:red", "inconclusive": "tab:orange"}
    for ax, name in zip(axes.flat, names):
        sub = data[data.measure == name].reset_index(drop=True)
        for i, r in sub.iterrows():
            if pd.isna(r.measured):  # e.g. a law not fitted under this choice: say so on its row
                ax.text(0.02, i, "no value (not fitted)", transform=ax.get_yaxis_transform(), va="center",
                        fontsize=7, color="0.35")
                continue
            ax.errorbar(r.measured, i, xerr=[[r.measured - r.lo], [r.hi - r.measured]], fmt="o",
                        color=colours.get(r.measure_verdict, "grey"), capsize=3)
        band = sub.iloc[0]
        if pd.notna(band.band_lo) or pd.notna(band.band_hi):  # a one-sided band runs past the axis's edge
            left, right = ax.get_xlim()
            pad = 0.05 * (right - left)
            lo = band.band_lo if pd.notna(band.band_lo) else min(left, band.band_hi - pad)
            hi = band.band_hi if pd.notna(band.band_hi) else max(right, band.band_lo + pad)
            ax.axvspan(lo, hi, color="tab:green", alpha=0.12, label="target band")
            ax.set_xlim(min(left, lo), max(right, hi))  # the band's edge stays in view
        ax.set_yticks(range(len(sub)), sub.run)
        ax.invert_yaxis()
        ax.set(xlabel=name, title=name)
    fig.suptitle(title)
    _save(fig, path)
    return fig


def plot_sensitivity_figures(paper_dir, fig_dir, skip=()) -> pd.DataFrame:
    """Every sensitivity table under a paper's results, one figure each (named after the claim
    and its part), and the tables together; an empty table when no claim declares choices.
    `skip`: claims whose notebook draws their sensitivity figure itself (CRX.4)."""
    paths = sorted(p for p in Path(paper_dir).rglob("sensitivity*.csv") if "sensitivity" not in p.parent.parts)
    tables = []
    for path in paths:
        table = pd.read_csv(path, dtype={"value": str, "label": str, "measure": str})
        claim, label = table.claim.iloc[0], table.label.fillna("").iloc[0]
        if claim in skip:
            continue
        name = sensitivity_figure(claim, label)
        plot_sensitivity(table, Path(fig_dir) / name, f"{claim}{' [' + label + ']' if label else ''}: per declared choice")
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
