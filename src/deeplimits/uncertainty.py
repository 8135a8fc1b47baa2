"""Intervals on judged numbers, and verdicts decided from them (REPLICATION.md, "Verdicts and
uncertainty").

A judged number is a `Measure`: its value, a 95% interval and the method that made it,
the target band it is judged against, and the verdict that follows:
- `reproduced`: the whole interval lies inside the band;
- `not reproduced`: it lies wholly outside;
- `inconclusive`: it straddles a band edge.

Methods, chosen by what the data has:
- several seeds per point: a bootstrap over seeds (seeds resampled with replacement within
  each point, the statistic recomputed, the 2.5% and 97.5% percentiles);
- one seed per point of a fit: the OLS slope's 95% interval (t quantile, n - 2 degrees of
  freedom, from its standard error);
- a deterministic computation (a float64 identity check, a counted violation): the value
  itself, method `exact`.
Bootstraps draw from a generator seeded by the measure's name, so reruns agree to the digit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .seeding import derive_seed

LEVEL = 0.95
N_BOOT = 2000
JUDGED = ("reproduced", "not reproduced", "inconclusive")

EXACT = "exact (deterministic computation)"
OLS = "OLS slope +- t(0.975, n-2) x standard error"
BOOT_SEEDS = f"bootstrap over seeds ({N_BOOT} resamples, percentile 95%)"
SEED_RANGE = "range over seeds"


@dataclass(frozen=True)
class Measure:
    """One judged number of a claim and its verdict; `lo`/`hi` bound the band (None: open)."""

    name: str
    value: float
    lo: float
    hi: float
    method: str
    band_lo: float | None
    band_hi: float | None
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 3) -> str:
        return f"{self.name} {_fmt(self.value, digits)} [{_fmt(self.lo, digits)}, {_fmt(self.hi, digits)}]"


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else str(x)


def band_verdict(lo: float, hi: float, band_lo: float | None, band_hi: float | None) -> str:
    """The verdict of an interval [lo, hi] against the band [band_lo, band_hi] (None: open).
    A non-finite interval can be neither inside nor outside: inconclusive."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    below = -math.inf if band_lo is None else band_lo
    above = math.inf if band_hi is None else band_hi
    if below <= lo and hi <= above:
        return "reproduced"
    if hi < below or lo > above:
        return "not reproduced"
    return "inconclusive"


def measure(name: str, value: float, interval: tuple[float, float, str], band_lo: float | None,
            band_hi: float | None) -> Measure:
    lo, hi, method = interval
    lo, hi = float(min(lo, value)), float(max(hi, value))
    return Measure(name, float(value), lo, hi, method, band_lo, band_hi, band_verdict(lo, hi, band_lo, band_hi))


def exact(value: float) -> tuple[float, float, str]:
    return float(value), float(value), EXACT


def combine(verdicts) -> str:
    """A claim judged on several numbers: reproduced when all are, not reproduced when any
    is, else inconclusive."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("a claim needs at least one judged number")
    for v in verdicts:
        if v not in JUDGED:
            raise ValueError(f"unknown verdict {v!r}; allowed: {', '.join(JUDGED)}")
    if "not reproduced" in verdicts:
        return "not reproduced"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "inconclusive"


# ------------------------------------------------------------------ intervals
def ols_slope_interval(x, y, level: float = LEVEL) -> tuple[float, float, str]:
    """The OLS slope's two-sided `level` interval; infinite with fewer than 3 points."""
    x, y = _finite(x, y)
    if x.size < 3:
        return -math.inf, math.inf, OLS
    dx = x - x.mean()
    sxx = float((dx**2).sum())
    if sxx == 0:
        return -math.inf, math.inf, OLS
    slope = float((dx * (y - y.mean())).sum() / sxx)
    resid = y - y.mean() - slope * dx
    stderr = math.sqrt(float((resid**2).sum()) / (x.size - 2) / sxx)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 2)) * stderr
    return slope - half, slope + half, OLS


def _finite(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of rows y (B, J) against x (J,), ignoring NaN entries of y."""
    w = np.isfinite(y)
    n = w.sum(1)
    xw = np.where(w, x, 0.0)
    yw = np.where(w, y, 0.0)
    mx, my = xw.sum(1) / n, yw.sum(1) / n
    sxy = (w * (x - mx[:, None]) * (yw - my[:, None])).sum(1)
    sxx = (w * (x - mx[:, None]) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, sxy / sxx, np.nan)


def loglog_slope_interval(points: dict, name: str, level: float = LEVEL, n_boot: int = N_BOOT):
    """Interval on the slope of log(mean over seeds) against log(x).

    `points` maps x -> the per-seed values at x. With >= 2 seeds at every x: a bootstrap
    over seeds; otherwise the OLS interval of the fit to the seed means."""
    xs = np.array(sorted(points), dtype=float)
    rows = [np.asarray(points[x], dtype=float) for x in sorted(points)]
    means = np.array([np.mean(r) if len(r) else np.nan for r in rows])
    keep = (xs > 0) & (means > 0)
    if min((len(r) for r in rows), default=0) < 2:
        return ols_slope_interval(np.log(xs[keep]), np.log(means[keep]), level)
    seeds = max(len(r) for r in rows)
    grid = np.full((len(rows), seeds), np.nan)
    for j, r in enumerate(rows):
        grid[j, :len(r)] = r
    rng = np.random.default_rng(derive_seed(0, "bootstrap", name))
    counts = np.array([len(r) for r in rows])
    pick = (rng.random((n_boot, len(rows), seeds)) * counts[None, :, None]).astype(int)
    draws = np.take_along_axis(np.broadcast_to(grid, (n_boot, *grid.shape)), pick, axis=2)
    draws = np.where(np.arange(seeds)[None, None, :] < counts[None, :, None], draws, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        logm = np.log(np.nanmean(draws, axis=2))
    logm = np.where(np.isfinite(logm), logm, np.nan)[:, keep]
    slopes = _slopes(np.log(xs[keep]), logm)
    lo, hi = np.nanpercentile(slopes, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi), BOOT_SEEDS


def mean_interval(values, name: str, level: float = LEVEL, n_boot: int = N_BOOT):
    """Interval on the mean of per-seed values: a bootstrap over seeds (one seed: exact)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, BOOT_SEEDS
    if v.size == 1:
        return float(v[0]), float(v[0]), "one seed (no spread)"
    rng = np.random.default_rng(derive_seed(0, "bootstrap", name))
    means = v[rng.integers(0, v.size, (n_boot, v.size))].mean(1)
    lo, hi = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi), BOOT_SEEDS


def bootstrap_interval(points: dict, statistic, name: str, level: float = LEVEL, n_boot: int = N_BOOT):
    """Interval on any statistic of per-point seed means: `statistic(means)` where `means`
    is the array of seed means in the order of sorted(points). Seeds are resampled within
    each point; with one seed everywhere the value has no seed spread and is returned as is."""
    keys = sorted(points)
    rows = [np.asarray(points[k], dtype=float) for k in keys]
    value = float(statistic(np.array([r.mean() for r in rows])))
    if min(len(r) for r in rows) < 2:
        return value, value, "one seed (no spread)"
    rng = np.random.default_rng(derive_seed(0, "bootstrap", name))
    draws = np.array([statistic(np.array([r[rng.integers(0, len(r), len(r))].mean() for r in rows]))
                      for _ in range(n_boot)])
    lo, hi = np.nanpercentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi), BOOT_SEEDS


def paired_bootstrap(rows, statistic, name: str, level: float = LEVEL, n_boot: int = N_BOOT):
    """Interval on `statistic(rows)` where each row of `rows` (n, k) is one independent draw
    (a seed, a random segment) whose k values belong together: rows are resampled whole."""
    rows = np.asarray(rows, dtype=float)
    if rows.shape[0] < 2:
        value = float(statistic(rows))
        return value, value, "one draw (no spread)"
    rng = np.random.default_rng(derive_seed(0, "bootstrap", name))
    draws = np.array([statistic(rows[rng.integers(0, rows.shape[0], rows.shape[0])]) for _ in range(n_boot)])
    lo, hi = np.nanpercentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi), f"bootstrap over draws ({n_boot} resamples, percentile 95%)"
