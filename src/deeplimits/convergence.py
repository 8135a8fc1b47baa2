"""What a claim about depth limits measures (the rules R1, R4 and R5 of the claim cards):

- R1, convergence in depth, by the window oscillation on a doubling grid of depths D,

      osc(D) = max over D/2 <= n <= D of sup_x ||y(n)(x) - y(D/2)(x)|| / sup_x ||y(D)(x)||,

  anchored at the window's start so that one pass over the states with a running maximum
  computes it (no state is kept but the anchor); an endpoint gap ||y(D) - y(D/2)|| alone
  misses a cycle whose period divides D/2, this does not;
- R4, a power (or log) law fitted only where it holds: the local slopes of the two halves of
  the grid (split at the median log depth) must agree within the claim's tolerance, and a
  non-monotone sequence is named as such, never summarised by one slope;
- R5, minimisers that are minimisers: a deterministic solve counts only when its recorded
  max-abs gradient is at most the configured tolerance; per depth the best converged
  objective over every chain (warm and cold starts), with the chain that gave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .uncertainty import exact, measure, over_draws


# ------------------------------------------------------------------ R1
def doubling_grid(smallest: int, largest: int) -> list[int]:
    """smallest, 2 smallest, ... up to largest."""
    out = [smallest]
    while out[-1] * 2 <= largest:
        out.append(out[-1] * 2)
    return out


class WindowOscillation:
    """osc(D) for every D of a doubling grid, fed the states y(n) for n = 1, 2, ... in order
    (`update(n, y)`, y of shape (inputs, features); the l2 norm over features, sup over
    inputs). Keeps one anchor y(D/2) and a running maximum, not the states."""

    def __init__(self, grid: list[int]):
        grid = sorted(grid)
        if any(d % 2 or d < 2 for d in grid):
            raise ValueError(f"window oscillation needs even depths >= 2, got {grid}")
        self.grid, self.osc, self._windows = grid, {}, {}

    def update(self, n: int, y) -> None:
        y = np.asarray(y, dtype=float)
        for d in self.grid:
            if n == d // 2:
                self._windows[d] = [y.copy(), 0.0]
            if d in self._windows and d // 2 <= n <= d:
                anchor, top = self._windows[d]
                self._windows[d][1] = max(top, float(np.linalg.norm(y - anchor, axis=-1).max()))
            if n == d and d in self._windows:
                _, top = self._windows.pop(d)
                scale = float(np.linalg.norm(y, axis=-1).max())
                self.osc[d] = top / scale if scale > 0 else math.inf


def window_oscillation(states, grid: list[int]) -> dict[int, float]:
    """osc(D) per D of `grid` from an iterable of (n, y(n)) in increasing n."""
    w = WindowOscillation(grid)
    for n, y in states:
        w.update(n, y)
    return w.osc


def oscillation_slopes(oscillation: pd.DataFrame, by: str) -> pd.DataFrame:
    """One slope of log osc(D) against log D per (`by`, sequence) of a table with columns
    `by`, sequence, D, osc, output_ratio; with the sequence's output ratio."""
    rows = []
    for (key, s), grp in oscillation.groupby([by, "sequence"], sort=False):
        keep = grp[grp.osc > 0]
        slope = float(np.polyfit(np.log(keep.D), np.log(keep.osc), 1)[0]) if len(keep) >= 2 else math.nan
        rows.append({by: key, "sequence": s, "slope": slope, "output_ratio": float(grp.output_ratio.iloc[0])})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ R4
@dataclass(frozen=True)
class LawCheck:
    """A law fitted to a mean curve: its slope over the whole grid, the local slopes of the
    two halves, whether they agree, and whether the sequence is monotone."""

    slope: float
    first_half: float
    second_half: float
    agree: bool
    monotone: bool
    x_range: tuple[float, float]
    kind: str

    @property
    def holds(self) -> bool:
        return self.agree and self.monotone

    def note(self) -> str:
        """'' where the law holds; else what the row says instead of a fitted law."""
        if self.holds:
            return ""
        a, b = (f"{v:g}" for v in self.x_range)
        what = "non-monotone sequence" if not self.monotone else f"no single {self.kind} law"
        return f"{what} over {a}..{b}: local slopes {self.first_half:.3g}, {self.second_half:.3g}"


def _slope(x, y) -> float:
    return float(np.polyfit(x, y, 1)[0])


def check_law(x, y, tolerance: float, kind: str = "power") -> LawCheck:
    """Fit y ~ x^s (`power`: log y against log x) or y ~ a + s log x (`log`) and compare the
    local slopes of the two halves of the grid, split at its median log x (the middle point,
    if any, in both halves; each half needs >= 2 points)."""
    order = np.argsort(np.asarray(x, dtype=float))
    x, y = np.asarray(x, dtype=float)[order], np.asarray(y, dtype=float)[order]
    if x.size < 3:
        raise ValueError(f"a law check needs >= 3 points, got {x.size}")
    lx = np.log(x)
    ly = np.log(y) if kind == "power" else y
    if kind not in ("power", "log"):
        raise ValueError(f"unknown law {kind!r}; use power or log")
    half = (x.size + 1) // 2
    first, second = slice(0, half), slice(x.size - half, x.size)
    s1, s2 = _slope(lx[first], ly[first]), _slope(lx[second], ly[second])
    steps = np.diff(y)
    monotone = bool(np.all(steps >= 0) or np.all(steps <= 0))
    return LawCheck(_slope(lx, ly), s1, s2, abs(s1 - s2) <= tolerance, monotone, (float(x[0]), float(x[-1])), kind)


# ------------------------------------------------------------------ R5
def converged(solves: pd.DataFrame, gtol: float) -> pd.Series:
    """A solve has converged when its recorded max-abs gradient is at most `gtol` (an
    optimiser's success flag does not count)."""
    return solves["grad_norm"].astype(float) <= gtol


def best_minima(solves: pd.DataFrame, gtol: float, depth: str = "N", objective: str = "total") -> pd.DataFrame:
    """Per depth: the best objective over the converged solves of every chain, the chain that
    gave it, and the solves that did not converge (named 'chain' at each depth). A depth with
    no converged solve has a NaN minimum and names them all."""
    solves = solves.assign(converged=converged(solves, gtol))
    rows = []
    for n, grp in solves.groupby(depth):
        ok = grp[grp.converged]
        best = ok.loc[ok[objective].idxmin()] if len(ok) else None
        rows.append({depth: n, "minimum": math.nan if best is None else float(best[objective]),
                     "chain": "" if best is None else best["chain"],
                     "not_converged": ", ".join(f"{r.chain} (max|grad| {r.grad_norm:.2g})"
                                                for r in grp[~grp.converged].itertuples())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ R1 + R2 + R4: one claim's numbers
def law_measures(law: LawCheck, name: str, tolerance: float) -> list:
    """R4's judged numbers for a law fitted to a mean curve: the difference of the two halves'
    local slopes (deterministic, at most `tolerance`) and, where the curve is not monotone, a
    number that fails (a non-monotone sequence is never summarised by one slope)."""
    gap = abs(law.first_half - law.second_half)
    out = [measure(f"local slopes differ {name}", gap, exact(gap), None, tolerance)]
    if not law.monotone:
        out.append(measure(f"monotone {name}", 0.0, exact(0.0), 1.0, 1.0))
    return out


def one_sided_tolerance(depths, law_tolerance: float) -> str:
    """The tolerance words of a claim judged by a slope in a one-sided band with R4's check."""
    return (f"one-sided bands; local slopes of the two halves of D = {min(depths)}..{max(depths)} within "
            f"{law_tolerance:g}")


def oscillation_measures(slopes: pd.DataFrame, oscillation: pd.DataFrame, by: str, roles: dict, treated_bands: dict,
                         no_decay: float, law_tolerance: float, name=str, what: str = "per-sequence slopes",
                         quantity: str = "osc"):
    """The numbers of a convergence claim judged by the window oscillation, per arm (`by`):
    a treated arm's mean osc slope inside its band (`treated_bands`) with R4's check of its mean
    curve (the local slopes' difference, and monotonicity when it fails); a control arm's slope
    >= -no_decay, non-degenerate from its output ratios; reported arms shown. Returns the
    measures and, per treated arm whose law does not hold, what the row says instead. `quantity`
    names the measured sequence (osc, or HZ.4's half-depth gap) in the measures' names."""
    weakest = (None, max(hi for _, hi in treated_bands.values()))
    measures, laws = [], {}
    for key, role in roles.items():
        grp = slopes[slopes[by] == key]
        label = f"{quantity} slope {name(key)}"
        if role == "treated":
            measures.append(over_draws(label, grp.slope, *treated_bands[key], what=what))
            mean = oscillation[oscillation[by] == key].groupby("D").osc.mean()
            if len(mean) < 3:  # no two halves to compare: the claim is not judged (too few depths)
                continue
            law = check_law(mean.index.to_numpy(float), mean.to_numpy(), law_tolerance)
            measures += law_measures(law, name(key), law_tolerance)
            if not law.holds:
                laws[key] = law.note()
        elif role == "control":
            measures.append(over_draws(label, grp.slope, -no_decay, None, what=what, role="control",
                                       treated_band=weakest, ratios=grp.output_ratio))
        else:
            measures.append(over_draws(label, grp.slope, None, None, what=what, role="reported"))
    return measures, laws
