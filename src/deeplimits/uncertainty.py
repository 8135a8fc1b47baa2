"""Intervals on judged numbers, and the verdict of one interval against its band (the claim
cards in docs/claim-cards.md say which method each claim uses; docs/interval-coverage.md
shows how often each method covers the truth, simulated by tests/test_coverage.py).

A judged number is a `Measure`: its value, a 95% interval and the method that made it,
its role, the band it is judged against, and the verdict of its interval against that band:
- `reproduced`: the whole interval lies inside the band;
- `not reproduced`: it lies wholly outside;
- `inconclusive`: it straddles a band edge.
How a claim's measures combine (a control must fail, R2) is the judges' business (judges.py).

Roles: `treated` (the arm where the theorem's condition holds), `control` (an arm where it
fails: its band is where the conclusion fails, disjoint from the treated band, and it carries
the output-norm ratios of its draws, from which the judge checks that it is not degenerate),
`reported` (shown, not judged).

Methods, chosen by what the data has:
- independent draws (seeds, random networks, random segments) of a number: the Student-t
  interval of their mean (`mean_interval`); a statistic fitted per draw (a slope per seed)
  is such a number, its interval taken over the draws' fitted values;
- the difference of two groups' means (XZ.4: two initialisations' accuracies over their own
  seeds): Welch's t interval with Satterthwaite's degrees of freedom (`welch_interval`);
- a rank correlation over cells (CRX.5: a rate against lambda_min / N): the BCa bootstrap over
  the cells of Spearman's rho (`spearman_interval`; BCa is allowed from 20 draws, R3);
- one fit of a curve with independent errors: the OLS slope's t interval (`ols_slope_interval`);
- a deterministic computation (an identity check, a converged deterministic solve): no
  interval at all, method `deterministic`, judged against a numerical tolerance.
No interval is ever widened to hold its point: a value outside its own interval is an error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

LEVEL = 0.95
JUDGED = ("reproduced", "not reproduced", "inconclusive")
ROLES = ("treated", "control", "reported")

DETERMINISTIC = "deterministic"
OLS = "OLS slope +- t(0.975, n-2) x standard error"
STUDENT_T = "Student-t over independent draws"
WELCH = "Welch t interval of a difference of means"
SPEARMAN = "BCa bootstrap over cells of Spearman's rho"
# Every method a claim file may name; each is simulated for coverage (coverage.py).
# A law that could not be fitted where it holds (R4): no value, no interval, the reason after it.
NOT_FITTED = "not fitted"
METHODS = (STUDENT_T, WELCH, SPEARMAN, OLS, DETERMINISTIC, NOT_FITTED)
# A control's outputs must stay within this factor of its inputs (R2): beyond, it collapsed
# or blew up, and its failure says nothing about the condition.
NON_DEGENERATE = (1e-3, 1e3)


def student_t_method(n: int, what: str = "") -> str:
    return f"{STUDENT_T} (n = {n}{', ' + what if what else ''})"


@dataclass(frozen=True)
class Measure:
    """One number of a claim and the verdict of its interval against its band [band_lo,
    band_hi] (None: open). A control also names the treated band (`treated_band`) and holds
    the output-norm ratios of its draws (`ratios`)."""

    name: str
    value: float
    lo: float
    hi: float
    method: str
    band_lo: float | None
    band_hi: float | None
    verdict: str
    role: str = "treated"
    treated_band: tuple | None = None
    ratios: tuple = field(default=())

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 3) -> str:
        prefix = "" if self.role == "treated" else f"{self.role}: "
        if self.method == DETERMINISTIC:
            return f"{prefix}{self.name} {_fmt(self.value, digits)} (deterministic)"
        if self.method.startswith(NOT_FITTED):
            return f"{prefix}{self.name} {self.method}"
        return f"{prefix}{self.name} {_fmt(self.value, digits)} [{_fmt(self.lo, digits)}, {_fmt(self.hi, digits)}]"


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
            band_hi: float | None, *, role: str = "treated", treated_band: tuple | None = None,
            ratios=()) -> Measure:
    """A judged number. Its value must lie in its own interval (never widened to hold it)."""
    lo, hi, method = interval
    value, lo, hi = float(value), float(lo), float(hi)
    if role not in ROLES:
        raise ValueError(f"measure {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
    rounding = 1e-9 * max(1.0, abs(value)) if math.isfinite(value) else 0.0  # two ways of computing one fit
    if math.isfinite(lo) and math.isfinite(hi) and math.isfinite(value) and not lo - rounding <= value <= hi + rounding:
        raise ValueError(f"measure {name!r}: value {value:g} lies outside its own interval [{lo:g}, {hi:g}] "
                         f"({method})")
    if role == "control":
        if treated_band is None:
            raise ValueError(f"control {name!r} needs the treated band it must stay out of")
        if not bands_disjoint((band_lo, band_hi), treated_band):
            raise ValueError(f"control {name!r}: its band [{band_lo}, {band_hi}] overlaps the treated band "
                             f"{list(treated_band)}")
    return Measure(name, value, lo, hi, method, band_lo, band_hi, band_verdict(lo, hi, band_lo, band_hi), role,
                   None if treated_band is None else tuple(treated_band), tuple(float(r) for r in ratios))


def not_fitted(why: str) -> tuple[float, float, str]:
    """The interval of a law not fitted (R4): unbounded, so that its verdict is inconclusive."""
    return -math.inf, math.inf, f"{NOT_FITTED}: {why}"


def exact(value: float) -> tuple[float, float, str]:
    """A deterministic number: no interval (its bounds are the value itself)."""
    return float(value), float(value), DETERMINISTIC


def combine(verdicts) -> str:
    """Several judged numbers: reproduced when all are, not reproduced when any is, else
    inconclusive."""
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


def bands_disjoint(a: tuple, b: tuple) -> bool:
    """Whether two bands (lo, hi; None: open) share no point."""
    (alo, ahi), (blo, bhi) = ((-math.inf if lo is None else lo, math.inf if hi is None else hi) for lo, hi in (a, b))
    return ahi < blo or bhi < alo


def non_degenerate(ratios) -> bool:
    """Whether every output-norm ratio of a control's draws lies within NON_DEGENERATE."""
    ratios = np.asarray(ratios, dtype=float)
    lo, hi = NON_DEGENERATE
    return ratios.size > 0 and bool(np.all(np.isfinite(ratios) & (ratios >= lo) & (ratios <= hi)))


# ------------------------------------------------------------------ intervals
def mean_interval(values, name: str = "", level: float = LEVEL, what: str = "") -> tuple[float, float, str]:
    """The Student-t interval of the mean of independent draws (`what` says what a draw's
    value is, e.g. "per-seed slopes"). One draw has no interval: (nan, nan)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, student_t_method(0, what)
    if v.size == 1:
        return math.nan, math.nan, student_t_method(1, what)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    m = float(v.mean())
    return m - half, m + half, student_t_method(v.size, what)


def welch_interval(a, b, level: float = LEVEL, what: str = "") -> tuple[float, float, float, str]:
    """mean(a) - mean(b) and its Welch t interval (unequal variances, Satterthwaite's degrees
    of freedom): (value, lo, hi, method). Fewer than 2 finite draws in a group: no interval."""
    a, b = (np.asarray(v, dtype=float) for v in (a, b))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    method = f"{WELCH} (n = {a.size} and {b.size}{', ' + what if what else ''})"
    diff = float(a.mean() - b.mean()) if a.size and b.size else math.nan
    if a.size < 2 or b.size < 2:
        return diff, math.nan, math.nan, method
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff, method
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return diff, diff - half, diff + half, method


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of x, y (shape (B, n)), with average ranks for ties."""
    rx, ry = stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    rx, ry = rx - rx.mean(-1, keepdims=True), ry - ry.mean(-1, keepdims=True)
    den = np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / den


def spearman_interval(x, y, level: float = LEVEL, resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float, float, str]:
    """Spearman's rho of paired values (cells) and its BCa bootstrap interval over the cells:
    (value, lo, hi, method). The bias correction z0 is from the share of resampled rhos below
    the point value, the acceleration from the jackknife; resamples whose ranks are all tied
    are left out."""
    x, y = (np.asarray(v, dtype=float) for v in (x, y))
    n = x.size
    method = f"{SPEARMAN} (n = {n} cells)"
    rho = float(_spearman_rows(x[None], y[None])[0])
    if n < 4:
        return rho, math.nan, math.nan, method
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
    boot = _spearman_rows(x[idx], y[idx])
    boot = boot[np.isfinite(boot)]
    z0 = stats.norm.ppf(np.clip((boot < rho).mean() + 0.5 * (boot == rho).mean(), 1e-6, 1 - 1e-6))
    keep = ~np.eye(n, dtype=bool)
    jack = _spearman_rows(np.broadcast_to(x, (n, n))[keep].reshape(n, n - 1),
                          np.broadcast_to(y, (n, n))[keep].reshape(n, n - 1))
    d = jack.mean() - jack
    denom = 6 * float((d**2).sum()) ** 1.5
    a = float((d**3).sum()) / denom if denom > 0 else 0.0
    z = stats.norm.ppf([(1 - level) / 2, (1 + level) / 2])
    alphas = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.quantile(boot, alphas)
    return rho, float(lo), float(hi), method


# How far apart the draws of an arm with no randomness may lie (one fit computed per seed).
SAME_DRAWS_RTOL = 1e-6


def over_draws(name: str, draws, band_lo: float | None, band_hi: float | None, what: str = "", *,
               deterministic: bool = False, **kw) -> Measure:
    """A measure whose value is the mean of independent draws and whose interval is theirs.
    `deterministic`: an arm with no randomness (the zero initialisation trained on fixed data),
    whose draws are one number repeated; where they agree to SAME_DRAWS_RTOL it is reported as
    that number with no interval (R3), else as draws."""
    v = np.asarray(draws, dtype=float)
    v = v[np.isfinite(v)]
    if deterministic and v.size and np.ptp(v) <= SAME_DRAWS_RTOL * max(1.0, abs(float(v.mean()))):
        return measure(name, float(v[0]), exact(v[0]), band_lo, band_hi, **kw)
    return measure(name, float(v.mean()) if v.size else math.nan, mean_interval(v, name, what=what), band_lo,
                   band_hi, **kw)


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


def per_draw_loglog_slopes(frame, x: str, y: str, draw: str = "seed") -> np.ndarray:
    """The log-log slope of `y` against `x` for each draw (a column `draw`, e.g. the seed
    index shared across depths), over the points where y > 0."""
    slopes = []
    for _, grp in frame.groupby(draw):
        grp = grp[(grp[x] > 0) & (grp[y] > 0)]
        if grp[x].nunique() >= 2:
            lx, ly = np.log(grp[x].to_numpy(float)), np.log(grp[y].to_numpy(float))
            slopes.append(float(np.polyfit(lx, ly, 1)[0]))
    return np.array(slopes)
