"""Least-squares fits used by the claims: power laws on log-log axes and linear rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LineFit:
    slope: float
    intercept: float
    r2: float
    n_points: int


def line_fit(x, y) -> LineFit:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2:
        return LineFit(float("nan"), float("nan"), float("nan"), int(x.size))
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2, int(x.size))


def loglog_slope(n, values, n_min: float = 0.0) -> LineFit:
    """Slope of log(values) against log(n) over n >= n_min (non-positive values dropped)."""
    n = np.asarray(n, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = (n >= n_min) & (n > 0) & (v > 0)
    return line_fit(np.log(n[keep]), np.log(v[keep]))


def log_linear_rate(steps, values, step_min: int = 0) -> LineFit:
    """Slope of log(values) against step: the linear-convergence rate per step."""
    s = np.asarray(steps, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = (s >= step_min) & (v > 0)
    return line_fit(s[keep], np.log(v[keep]))


def relative_spread(values) -> float:
    """(max - min) / |mean|, the spread of a set of fitted rates."""
    v = np.asarray(values, dtype=float)
    return float((v.max() - v.min()) / abs(v.mean()))
