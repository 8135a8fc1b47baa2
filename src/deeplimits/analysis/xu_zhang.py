"""Claims XZ.1-XZ.4 (Xu & Zhang, plain deep ReLU networks). Norms: l2 for vectors,
spectral for matrices (||W(n) - I||_2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..cells import cell_dirs, load_cell_model, load_metrics, validation_split
from ..claims import write_claim
from ..convergence import (
    WindowOscillation,
    doubling_grid,
    one_sided_tolerance,
    oscillation_measures,
    oscillation_slopes,
)
from ..data import load_prepared
from ..experiments import parse_lr_variant
from ..io import write_csv
from ..judges import decide_measures
from ..logs import progress
from ..models.plain import convergent_layers, he_layers
from ..plan import base_variant
from ..seeding import torch_generator
from ..sensitivity import sensitivity_note
from ..uncertainty import exact, measure, over_draws, welch_interval
from . import relu_theory as R
from .fit import loglog_slope


def _sequence(kind: str, depth: int, width: int, gen, alpha: float = 0.0):
    if kind == "he":
        w, b = he_layers(depth, width, gen, dtype=torch.float64)
    else:
        w, b = convergent_layers(depth, width, alpha, gen, dtype=torch.float64)
    return list(w), list(b)


# ----------------------------------------------------------------------------- XZ.1
# XZ.1's arms: XZ.2's convergent sequences (treated), alpha = -0.5 (the control: neither series
# summable, outputs of order 1) and He init, drawn but no control: its outputs collapse to ~0.
XZ1_HE = "He init (collapses)"


def xz1_arms(settings: dict) -> dict:
    arms = {f"convergent, alpha={a:g}": ("convergent", a, "treated") for a in settings["alphas"]}
    arms[f"alpha={settings['control_alpha']:g} (control)"] = ("convergent", settings["control_alpha"], "control")
    arms[XZ1_HE] = ("he", 0.0, "shown")
    return arms


XZ1_FIGURE_POINTS = 150


def xz1_draws(settings: dict, gen) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per arm and draw (a fresh random network and a random segment): pieces(n; eps) for every
    eps (main and declared, one computation), the output-norm ratio ||N(D)|| / ||x|| at the
    segment's ends; and per arm the explicit form's error on the first draw's network."""
    depth, width = settings["depth"], settings["width"]
    eps = [settings["eps"], *settings["eps_choices"]]
    rows, pieces = [], []
    # The figure's depths (every one up to 150, a log and a linear grid beyond: per draw, so at
    # paper scale 13 MB with every depth, 4.6 MB with XZ.2's 500 points) and the judged D/2 and D.
    kept = sorted({0, depth // 2, depth, *figure_layers(depth, points=XZ1_FIGURE_POINTS).tolist()})
    for name, (kind, alpha, role) in xz1_arms(settings).items():
        for s in progress(range(settings["n_segments"]), desc=f"XZ.1 {name}", unit="segment"):
            ws, bs = _sequence(kind, depth, width, gen, alpha)
            if s == 0:
                x = torch.randn(settings["n_inputs"], width, generator=gen, dtype=torch.float64)
                forward, explicit = R.forward_states(ws, bs, x)[-1], R.explicit_output(ws, bs, x)
                rows.append({"network": name, "role": role, "explicit_rel_error":
                             float((explicit - forward).norm() / forward.norm().clamp_min(1e-300))})
            ends = torch.randn(2, width, generator=gen, dtype=torch.float64)
            counts = R.kinks_along_segment([w.numpy() for w in ws], [b.numpy() for b in bs], *ends.numpy(), eps)
            ratio = float(R.forward_states(ws, bs, ends)[-1].norm(dim=1).mean() / ends.norm(dim=1).mean())
            for e, row in zip(eps, counts):
                # For the main eps the kept depths; D/2 and D for the declared ones.
                keep = kept if e == settings["eps"] else (depth // 2, depth)
                pieces += [{"network": name, "role": role, "segment": s, "eps": e, "depth": n, "pieces": int(row[n]),
                            "output_ratio": ratio} for n in keep]
    return pd.DataFrame(rows), pd.DataFrame(pieces)


def xz1_measures(pieces: pd.DataFrame, depth: int, max_err: float, settings: dict, eps: float) -> list:
    """XZ.1's judged numbers at kink threshold `eps`: the explicit form's error (deterministic,
    float64); per treated arm, pieces(D) / pieces(D/2) per draw inside [stable_floor,
    stable_ratio]; the control's ratio above stable_ratio, non-degenerate from its output
    ratios; Student-t intervals over the draws."""
    band = (settings["stable_floor"], settings["stable_ratio"])
    measures = [measure("explicit rel. error", max_err, exact(max_err), None, settings["rel_tolerance"])]
    at = pieces[(pieces.eps == eps) & pieces.depth.isin([depth // 2, depth])]
    for (name, role), grp in at.groupby(["network", "role"], sort=False):
        table = grp.pivot(index="segment", columns="depth", values="pieces")[[depth // 2, depth]].to_numpy(float)
        growth = table[:, 1] / table[:, 0]
        if role == "treated":
            measures.append(over_draws(f"growth {name}", growth, *band, what="per-segment ratios"))
        elif role == "control":
            # Above the treated band: the control's band starts just past stable_ratio (disjoint bands).
            measures.append(over_draws(f"growth {name}", growth, math.nextafter(band[1], math.inf), None,
                                       what="per-segment ratios", role="control", treated_band=band,
                                       ratios=grp.groupby("segment").output_ratio.first()))
    return measures


def xz1_eps_note(pieces: pd.DataFrame, depth: int, max_err: float, settings: dict, main: str) -> str:
    """R7 for eps: each declared eps judged from the same breakpoints; which ones flip the verdict."""
    flips = []
    for e in settings["eps_choices"]:
        ms = xz1_measures(pieces, depth, max_err, settings, e)
        verdict, _ = decide_measures([m.as_dict() for m in ms], [m.verdict for m in ms])
        if verdict != main:
            flips.append({"choice": "eps", "value": f"{e:g}", "verdict": verdict, "reference": main})
    choices = [f"eps={e:g}" for e in settings["eps_choices"]]
    return sensitivity_note({"sensitive_to": flips, "choices": choices})


def xz1(settings: dict, inputs: dict, outputs: dict, *, scale: str, seed: int = 0, label: str = "", device: str = "cpu") -> dict:
    depth = settings["depth"]
    summary, pieces = xz1_draws(settings, torch_generator(seed, "xz1"))
    main = pieces[pieces.eps == settings["eps"]]
    at = main[main.depth.isin([depth // 2, depth])].pivot_table(index=["network", "segment"], columns="depth",
                                                                values="pieces")
    growth = (at[depth] / at[depth // 2]).groupby("network").mean()
    summary = summary.assign(pieces_at_half_depth=summary.network.map(at[depth // 2].groupby("network").mean()),
                             pieces_at_depth=summary.network.map(at[depth].groupby("network").mean()),
                             growth_ratio=summary.network.map(growth),
                             output_ratio=summary.network.map(main.groupby("network").output_ratio.mean()))
    write_csv(outputs["summary"], summary)
    write_csv(outputs["pieces"], pieces)
    max_err = float(summary.explicit_rel_error.max())
    measures = xz1_measures(pieces, depth, max_err, settings, settings["eps"])
    main_verdict, _ = decide_measures([m.as_dict() for m in measures], [m.verdict for m in measures])
    desc = "; ".join(f"{r.network}: {r.pieces_at_half_depth:.1f} -> {r.pieces_at_depth:.1f} (outputs "
                     f"{r.output_ratio:.2g} x inputs)" for r in summary.itertuples())
    record = write_claim(
        outputs, "claim", "XZ.1", scale=scale,
        measured=f"explicit form max rel. error {max_err:.2e}; mean pieces along a segment at depth D/2 -> D "
                 f"(D={depth}, kink threshold eps = {settings['eps']:g}): {desc}",
        target=f"rel. error <= tolerance; convergent sequences: pieces(D) / pieces(D/2) in "
               f"[{settings['stable_floor']}, {settings['stable_ratio']}]; the control's above {settings['stable_ratio']}",
        tolerance=f"rel. error {settings['rel_tolerance']:g}",
        note=f"width {settings['width']}, {settings['n_segments']} draws (a random network and segment each); a kink "
             f"counts when the slope changes by > eps x max ||output|| along the segment; He init collapses (no "
             f"control); {xz1_eps_note(pieces, depth, max_err, settings, main_verdict)}",
        values={"max_rel_error": max_err, "eps": settings["eps"]}, measures=measures,
    )
    return {"verdict": record["verdict"], "summary": summary}


# ----------------------------------------------------------------------------- XZ.2
# XZ.2 judges what the sufficient condition concludes (R1): the outputs N(n)(x) converge, seen
# through the window oscillation osc(D) (convergence.py) over a doubling grid of depths, one
# slope of log osc against log D per random sequence W(n) = I + n^-(1+alpha) G(n),
# b(n) = n^-(1+alpha) g(n). The increments ||N(n) - N(n-1)|| decay at the rate the
# construction imposes, so they are drawn ("imposed rate") but not judged.
XZ2_CONTROL_ALPHA = -0.5     # neither series summable: the control, which must not converge
XZ2_REPORTED = (0.0, -0.25)  # between the sufficient condition and the control: reported


def xz2_sequence_oscillation(ws, bs, x: torch.Tensor, grid: list[int]) -> tuple[dict, float, np.ndarray]:
    """osc(D) for every D of `grid`, the output-norm ratio sup_x ||N(D)|| / sup_x ||x|| at the
    deepest D, and the increments max_x ||N(n) - N(n-1)|| for n = 1..len(ws), in one pass."""
    osc = WindowOscillation(grid)
    y, inc = x, np.empty(len(ws))
    for n, (w, b) in enumerate(zip(ws, bs), start=1):
        new = torch.relu(y @ w.T + b)
        inc[n - 1] = float((new - y).norm(dim=1).max())
        y = new
        osc.update(n, y.numpy())
    return osc.osc, float(y.norm(dim=1).max() / x.norm(dim=1).max()), inc


def figure_layers(depth: int, points: int = 500) -> np.ndarray:
    """The layers 1..depth that XZ.2's per-layer tables keep (they feed figures only): all of
    them up to `points`, beyond that about `points` spaced evenly on a log axis and as many on
    a linear one, so either axis draws the curve. At paper scale (16384 layers, six alphas)
    the full tables would be 19 MB, over a snapshot's allowance."""
    if depth <= points:
        return np.arange(1, depth + 1)
    log = np.geomspace(1, depth, points).round()
    lin = np.linspace(1, depth, points).round()
    return np.unique(np.concatenate([log, lin, [depth]])).astype(int)


def xz2(settings: dict, inputs: dict, outputs: dict, *, scale: str, seed: int = 0, label: str = "", device: str = "cpu") -> dict:
    gen = torch_generator(seed, "xz2")
    depth, width = settings["depth"], settings["width"]
    grid = doubling_grid(settings["min_depth"], depth)
    x = torch.rand(settings["n_inputs"], width, generator=gen, dtype=torch.float64)
    n = figure_layers(depth)  # the per-layer tables' rows (figures only; the claim reads oscillation)
    oscillation, increments, sums = [], [], []
    for alpha in settings["alphas"]:
        for s in progress(range(settings["sequences"]), desc=f"XZ.2 alpha={alpha:g}", unit="sequence"):
            ws, bs = _sequence("convergent", depth, width, gen, alpha)
            osc, ratio, inc = xz2_sequence_oscillation(ws, bs, x, grid)
            oscillation += [{"alpha": alpha, "sequence": s, "D": d, "osc": osc[d], "output_ratio": ratio} for d in grid]
            if s == 0:  # one sequence per alpha for the figures of the imposed rate and the sums
                increments.append(pd.DataFrame({"alpha": alpha, "n": n, "increment": np.asarray(inc)[n - 1]}))
                w_dev = torch.linalg.matrix_norm(torch.stack(ws) - torch.eye(width, dtype=torch.float64), ord=2)
                sums.append(pd.DataFrame({"alpha": alpha, "n": n, "sum_W_minus_I": np.cumsum(w_dev.numpy())[n - 1],
                                          "sum_b": np.cumsum(torch.stack(bs).norm(dim=1).numpy())[n - 1]}))
    he_rows, kept = [], {0, *n.tolist()}
    for s in range(settings["he_nets"]):
        ws, bs = _sequence("he", depth, width, gen)
        states = R.forward_states(ws, bs, x)
        he_rows += [{"net": s, "n": k, "output_norm": float(st.norm(dim=1).mean())} for k, st in enumerate(states)
                    if k in kept]
    oscillation = pd.DataFrame(oscillation)
    slopes = oscillation_slopes(oscillation, by="alpha")
    write_csv(outputs["oscillation"], oscillation)
    write_csv(outputs["slopes"], slopes)
    write_csv(outputs["increments"], pd.concat(increments, ignore_index=True))
    write_csv(outputs["sums"], pd.concat(sums, ignore_index=True))
    write_csv(outputs["he"], pd.DataFrame(he_rows))
    measures, laws = xz2_measures(slopes, oscillation, settings["no_decay_slope"], settings["law_tolerance"])
    per_alpha = slopes.groupby("alpha").slope.mean()
    record = write_claim(
        outputs, "claim", "XZ.2", scale=scale,
        measured="slope of log osc(D) against log D (mean over sequences): "
                 + "; ".join(f"alpha={a:g}: {v:.3f}" for a, v in per_alpha.items()),
        target=f"alpha > 0: slope <= -alpha (outputs converge at least at the bound's rate); control alpha = "
               f"{XZ2_CONTROL_ALPHA:g}: slope >= -{settings['no_decay_slope']:g} with outputs of order one",
        tolerance=one_sided_tolerance(grid, settings["law_tolerance"]),
        note=f"width {width}, {settings['sequences']} random sequences per alpha, sup over {settings['n_inputs']} "
             f"inputs in [0,1]^m, l2 norm; alpha = {', '.join(f'{a:g}' for a in XZ2_REPORTED)} reported"
             + "".join(f"; alpha={a:g}: {why}" for a, why in laws.items()),
        # R4 needs two halves of >= 2 depths each: a shorter grid is not judged.
        values={"slopes": {str(a): v for a, v in per_alpha.items()}, "judgeable": len(grid) >= 3},
        measures=measures,
    )
    return {"verdict": record["verdict"], "slopes": slopes}


def xz2_measures(slopes: pd.DataFrame, oscillation: pd.DataFrame, no_decay: float, law_tolerance: float):
    """XZ.2's numbers: alpha > 0 treated (mean osc slope <= -alpha, the bound's rate, with R4's
    check), alpha = -0.5 the control (>= -no_decay, non-degenerate), the alphas between
    reported (convergence.oscillation_measures)."""
    alphas = sorted(slopes.alpha.unique())
    roles = {a: "treated" if a > 0 else "control" if a == XZ2_CONTROL_ALPHA else "reported" for a in alphas}
    if "treated" not in roles.values():
        roles = {a: "reported" for a in alphas}
    return oscillation_measures(slopes, oscillation, "alpha", roles, {a: (None, -a) for a in alphas if a > 0},
                                no_decay, law_tolerance, name=lambda a: f"alpha={a:g}")


# ----------------------------------------------------------------------------- XZ.5
# The necessary conditions W(n) -> I and b(n) -> 0 (XZ.5's card): sequences that break one
# of them, through XZ.2's measurement, must not converge; XZ.2's treated arm (alpha = 1),
# read from its outputs, is the contrast that does; XZ.2's alpha = 0 meets both necessary
# conditions but not the sufficient one (reported).
XZ5_ARMS = ("cycle", "drift")


def xz5_sequence(arm: str, depth: int, width: int, gen, alpha: float, drift: float, x_scale: float):
    """(i) `cycle`: W(n) = P + n^-(1+alpha) G(n) with P a 3-cycle of the first three
    coordinates (odd order, so no doubling grid lands on its period), b(n) = n^-(1+alpha) g(n);
    (ii) `drift`: W(n) = I + n^-(1+alpha) G(n), b(n) = b0 + n^-(1+alpha) g(n), b0 with
    positive entries and ||b0|| = drift * x_scale."""
    ws, bs = _sequence("convergent", depth, width, gen, alpha)
    if arm == "cycle":
        perm = torch.eye(width, dtype=torch.float64)
        perm[:3] = perm[[1, 2, 0]]
        eye = torch.eye(width, dtype=torch.float64)
        return [w - eye + perm for w in ws], bs
    if arm == "drift":
        b0 = torch.rand(width, generator=gen, dtype=torch.float64) + 0.5
        b0 = drift * x_scale * b0 / b0.norm()
        return ws, [b + b0 for b in bs]
    raise ValueError(f"unknown XZ.5 arm {arm!r}; use {', '.join(XZ5_ARMS)}")


def xz5(settings: dict, inputs: dict, outputs: dict, *, scale: str, seed: int = 0, label: str = "", device: str = "cpu") -> dict:
    gen = torch_generator(seed, "xz5")
    depth, width = settings["depth"], settings["width"]
    grid = doubling_grid(settings["min_depth"], depth)
    x = torch.rand(settings["n_inputs"], width, generator=gen, dtype=torch.float64)
    x_scale = float(x.norm(dim=1).max())
    rows = []
    for arm in XZ5_ARMS:
        for s in progress(range(settings["sequences"]), desc=f"XZ.5 {arm}", unit="sequence"):
            ws, bs = xz5_sequence(arm, depth, width, gen, settings["perturbation_alpha"], settings["drift"], x_scale)
            osc, ratio, _ = xz2_sequence_oscillation(ws, bs, x, grid)
            rows += [{"arm": arm, "sequence": s, "D": d, "osc": osc[d], "output_ratio": ratio} for d in grid]
    oscillation = pd.DataFrame(rows)
    slopes = oscillation_slopes(oscillation, by="arm")
    write_csv(outputs["oscillation"], oscillation)
    write_csv(outputs["slopes"], slopes)
    xz2_seq = pd.read_csv(inputs["xz2_slopes"])
    measures = xz5_measures(slopes, xz2_seq, settings["no_decay_slope"], settings["converged_slope"])
    per_arm = slopes.groupby("arm").slope.mean()
    record = write_claim(
        outputs, "claim", "XZ.5", scale=scale,
        measured="slope of log osc(D) against log D (mean over sequences): "
                 + "; ".join(f"{a}: {v:.3f}" for a, v in per_arm.items())
                 + "; XZ.2 alpha=1: " + f"{xz2_seq[xz2_seq.alpha == 1.0].slope.mean():.3f}"
                 + "; XZ.2 alpha=0: " + f"{xz2_seq[xz2_seq.alpha == 0.0].slope.mean():.3f}",
        target=f"arms breaking W(n) -> I (a 3-cycle) or b(n) -> 0 (a drift): slope >= -{settings['no_decay_slope']:g}, "
               f"outputs of order one; XZ.2's alpha = 1 converges (slope <= -{settings['converged_slope']:g})",
        tolerance="one-sided bands; outputs within 1e-3..1e3 of the inputs",
        note=f"width {width}, D = {grid[0]}..{grid[-1]}, {settings['sequences']} random sequences per arm, "
             f"perturbations n^-(1+{settings['perturbation_alpha']:g}), ||b0|| = {settings['drift']:g} sup_x ||x||; "
             "the paper's exact hypotheses for necessity are not available (journal version)",
        values={"slopes": {a: float(v) for a, v in per_arm.items()}}, measures=measures,
    )
    return {"verdict": record["verdict"], "slopes": slopes}


def xz5_measures(slopes: pd.DataFrame, xz2_seq: pd.DataFrame, no_decay: float, converged: float) -> list:
    """Treated: each arm's osc slope (>= -no_decay) and its outputs' order (the largest
    |log10| of the output ratios <= 3). Control: XZ.2's alpha = 1 sequences, which must converge
    (slope <= -converged), non-degenerate. Reported: XZ.2's alpha = 0."""
    measures = []
    for arm, grp in slopes.groupby("arm"):
        measures.append(over_draws(f"osc slope {arm}", grp.slope, -no_decay, None, what="per-sequence slopes"))
        spread = float(np.abs(np.log10(grp.output_ratio)).max())
        measures.append(measure(f"max |log10 output ratio| {arm}", spread, exact(spread), None, 3.0))
    sufficient = xz2_seq[xz2_seq.alpha == 1.0]
    measures.append(over_draws("osc slope XZ.2 alpha=1", sufficient.slope, None, -converged, what="per-sequence slopes",
                               role="control", treated_band=(-no_decay, None), ratios=sufficient.output_ratio))
    between = xz2_seq[xz2_seq.alpha == 0.0]
    measures.append(over_draws("osc slope XZ.2 alpha=0", between.slope, None, None, what="per-sequence slopes",
                               role="reported"))
    return measures


# ----------------------------------------------------------------------------- XZ.3 / XZ.4
# Each init trains at every learning rate of `lrs` on the training split less a validation
# part; per (init, depth) the rate with the better mean validation accuracy over seeds is
# chosen (the test split plays no part in the choice), and XZ.3 and XZ.4 read the chosen cells.
def _accuracy(model, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per seed: the share of (x, y) the stacked model classifies right."""
    with torch.no_grad():
        logits = model(x.unsqueeze(0).expand(model.seeds, *x.shape).to(model.W.dtype))
    return (logits.argmax(-1) == y.unsqueeze(0)).double().mean(dim=1).numpy()


def _cell_table(dirs, data: dict, root_seed: int):
    finals, layers = [], []
    for cell_dir in dirs:
        model, blob = load_cell_model(cell_dir, data["meta"])
        init, lr = parse_lr_variant(base_variant(blob["cell"]["variant"]))
        depth = int(blob["cell"]["depth"])
        _, val = validation_split(data["x_train"].shape[0], blob["settings"]["validation"], root_seed)
        val_acc = _accuracy(model, data["x_train"][val], data["y_train"][val])
        hist = load_metrics(cell_dir)
        last = hist[hist.epoch == hist.epoch.max()].set_index("seed")
        eye = torch.eye(model.width)
        dev = torch.linalg.matrix_norm(model.W.detach() - eye, ord=2)  # (S, L)
        bn = model.b.detach().norm(dim=-1)
        for s in range(model.seeds):
            finals.append({"init": init, "lr": lr, "depth": depth, "seed": s, "validation_accuracy": float(val_acc[s]),
                           "test_accuracy": float(last.loc[s, "test_accuracy"]),
                           "diverged": bool(last.loc[s, "diverged"])})
            for n in range(depth):
                layers.append({"init": init, "lr": lr, "depth": depth, "seed": s, "n": n + 1,
                               "W_minus_I": float(dev[s, n]), "b_norm": float(bn[s, n])})
    return pd.DataFrame(finals), pd.DataFrame(layers)


def choose_lr(finals: pd.DataFrame) -> pd.DataFrame:
    """`finals` with a column `chosen`: per (init, depth), the learning rate whose mean
    validation accuracy over seeds is the highest (on a tie, the first in the table's order)."""
    means = finals.groupby(["init", "depth", "lr"], sort=False).validation_accuracy.mean().reset_index()
    best = means.loc[means.groupby(["init", "depth"], sort=False).validation_accuracy.idxmax()]
    picked = set(zip(best.init, best.depth, best.lr))
    return finals.assign(chosen=[(i, d, lr) in picked for i, d, lr in zip(finals.init, finals.depth, finals.lr)])


def profile_shape(values, change: float = 0.2) -> str:
    """A profile along depth in words, from the means of its first, middle and last thirds:
    `decreasing` / `growing` (each third below / above the one before by more than `change`,
    relative), `U-shaped` (the middle below both ends by more than that), else `flat`."""
    thirds = [float(np.mean(part)) for part in np.array_split(np.asarray(values, dtype=float), 3)]
    a, b, c = thirds
    if b < a * (1 - change) and c < b * (1 - change):
        return "decreasing"
    if b > a * (1 + change) and c > b * (1 + change):
        return "growing"
    if b < min(a, c) * (1 - change):
        return "U-shaped"
    if c < a * (1 - change):
        return "decreasing"
    if c > a * (1 + change):
        return "growing"
    return "flat"


def xz4_measures(chosen: pd.DataFrame, chance: float, margin: float, shallow: int) -> tuple[list, dict]:
    """XZ.4's judged numbers from the chosen cells' per-seed test accuracies: at the deepest D
    the Welch interval of acc(convergent) - acc(He) above 0 and He's accuracy below chance +
    margin (He fails there); at every depth <= `shallow` He's accuracy at least half way from
    chance to the best mean accuracy of the grid (He learns there, so the pipeline did not fail it)."""
    deepest = int(chosen.depth.max())
    acc = {k: g.sort_values("seed").test_accuracy.to_numpy() for k, g in chosen.groupby(["init", "depth"])}
    best = float(chosen.groupby(["init", "depth"]).test_accuracy.mean().max())
    learns_at = chance + 0.5 * (best - chance)
    shallow_depths = sorted(d for d in chosen.depth.unique() if d <= shallow)
    if not shallow_depths:
        raise ValueError(f"experiments.xz34.depths has no depth <= he_learns_depth = {shallow}: He init's learning "
                         "cannot be shown")
    diff, lo, hi, method = welch_interval(acc[("convergent", deepest)], acc[("he", deepest)], what="per-seed accuracy")
    measures = [measure(f"acc(convergent) - acc(He) at D={deepest}", diff, (lo, hi, method), 0.0, None),
                over_draws(f"He accuracy at D={deepest}", acc[("he", deepest)], None, chance + margin,
                           what="per-seed accuracy")]
    measures += [over_draws(f"He accuracy at D={d}", acc[("he", d)], learns_at, None, what="per-seed accuracy")
                 for d in shallow_depths]
    return measures, {"deepest": deepest, "best": best, "he_learns_from": learns_at, "shallow_depths": shallow_depths}


def xz34(settings: dict, inputs: dict, outputs: dict, *, scale: str, seed: int = 0, label: str = "", device: str = "cpu") -> dict:
    data = load_prepared(inputs["data"])
    finals, layers = _cell_table(cell_dirs(inputs["cells"]), data, seed)
    finals = choose_lr(finals.sort_values(["init", "depth", "lr", "seed"]))
    picked = finals[finals.chosen][["init", "depth", "lr"]].drop_duplicates()
    layers = layers.merge(picked, on=["init", "depth", "lr"]).sort_values(["init", "depth", "seed", "n"])
    layers["sum_W_minus_I"] = layers.groupby(["init", "depth", "seed"]).W_minus_I.cumsum()
    layers["sum_b"] = layers.groupby(["init", "depth", "seed"]).b_norm.cumsum()
    write_csv(outputs["accuracy"], finals)
    write_csv(outputs["layers"], layers)
    chance = 1.0 / len(data["meta"]["classes"])
    chosen = finals[finals.chosen]
    trends = _xz3_claim(settings, outputs, scale, layers, chosen, chance)
    record = _xz4_claim(settings, outputs, scale, finals, chance, data["meta"]["name"])
    return {"verdict": record["verdict"], "accuracy": finals, "trends": trends}


def _xz3_claim(settings: dict, outputs: dict, scale: str, layers: pd.DataFrame, chosen: pd.DataFrame,
               chance: float) -> pd.DataFrame:
    """XZ.3: the profile of ||W(n) - I|| and ||b(n)|| along n for the deepest trained nets of
    each init (at its chosen rate), worded from the data (profile_shape); a net that did not
    learn is marked."""
    deepest = layers[layers.depth == layers.depth.max()]
    trends = []
    for init, grp in deepest.groupby("init"):
        mean = grp.groupby("n")[["W_minus_I", "b_norm"]].mean()
        fw = loglog_slope(mean.index.values, mean.W_minus_I.values, 2)
        fb = loglog_slope(mean.index.values, mean.b_norm.values, 2)
        depth = int(grp.depth.iloc[0])
        accuracy = float(chosen[(chosen.init == init) & (chosen.depth == depth)].test_accuracy.mean())
        trends.append({"init": init, "depth": depth, "lr": float(grp.lr.iloc[0]),
                       "shape_W_minus_I": profile_shape(mean.W_minus_I.to_numpy()),
                       "shape_b": profile_shape(mean.b_norm.to_numpy()), "slope_W_minus_I": fw.slope,
                       "slope_b": fb.slope, "sum_W_minus_I": float(mean.W_minus_I.sum()),
                       "sum_b": float(mean.b_norm.sum()), "test_accuracy": accuracy,
                       "trained": accuracy >= chance + settings["learning_margin"]})
    trends = pd.DataFrame(trends)
    write_csv(outputs["trends"], trends)
    desc = "; ".join(f"{r.init} (D={r.depth}{'' if r.trained else f', did not train: accuracy {r.test_accuracy:.3f}'}): "
                     f"||W(n)-I|| {r.shape_W_minus_I}, ||b(n)|| {r.shape_b} "
                     f"(so W(n) -> I is {'seen' if r.shape_W_minus_I == 'decreasing' else 'not seen'})"
                     for r in trends.itertuples())
    write_claim(
        outputs, "claim_xz3", "XZ.3", scale=scale, measured=desc,
        target="trend: W(n) -> I and b(n) -> 0 along depth (necessary condition)",
        tolerance="none (trend, reported without pass/fail)",
        note="spectral norm of W(n) - I, l2 norm of b(n), mean over seeds, after training (XZ.4 cells, each init at "
             "its chosen learning rate); shape from the means of the first, middle and last third of the layers",
        values={"trends": trends.to_dict(orient="records")},
    )
    return trends


def _xz4_claim(settings: dict, outputs: dict, scale: str, finals: pd.DataFrame, chance: float, dataset: str) -> dict:
    chosen = finals[finals.chosen]
    margin = settings["learning_margin"]
    measures, found = xz4_measures(chosen, chance, margin, settings["he_learns_depth"])
    mean = chosen.groupby(["init", "depth"]).agg(acc=("test_accuracy", "mean"), lr=("lr", "first"))
    acc = "; ".join(f"{init} D={d}: {100 * r.acc:.1f}% (lr {r.lr:g})" for (init, d), r in mean.iterrows())
    return write_claim(
        outputs, "claim_xz4", "XZ.4", scale=scale,
        measured=f"test accuracy, mean over seeds, each init at its chosen learning rate: {acc}",
        target=f"at the deepest D = {found['deepest']}: acc(convergent) - acc(He) > 0 and He below chance + {margin:g}; "
               f"He learns (>= half way from chance to the best, {100 * found['he_learns_from']:.1f}%) at D <= "
               f"{settings['he_learns_depth']}",
        tolerance="one-sided bands on the Welch and Student-t intervals",
        note=f"{dataset}, same epochs for both inits; learning rate chosen per init and depth from "
             f"{', '.join(f'{lr:g}' for lr in settings['lrs'])} on a validation split ({settings['validation']:g} of "
             f"the training split; the test split plays no part in the choice)",
        values={"chance": chance, "learns_from": chance + margin, "he_learns_from": found["he_learns_from"],
                "deepest": found["deepest"], "chosen_lr": {f"{i} D={d}": float(r.lr) for (i, d), r in mean.iterrows()}},
        measures=measures,
    )
