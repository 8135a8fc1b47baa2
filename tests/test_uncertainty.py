"""Intervals and the verdicts decided from them, on hand-made values with known answers."""

import math

import numpy as np
import pytest
from scipy import stats

from deeplimits.judges import judged
from deeplimits.uncertainty import (
    BOOT_SEEDS,
    OLS,
    band_verdict,
    combine,
    exact,
    loglog_slope_interval,
    mean_interval,
    measure,
    ols_slope_interval,
)


@pytest.mark.parametrize("lo, hi, expected", [
    (0.45, 0.55, "reproduced"),          # wholly inside [0.4, 0.6]
    (0.4, 0.6, "reproduced"),            # the band edges themselves are inside
    (0.61, 0.7, "not reproduced"),       # wholly above
    (0.1, 0.39, "not reproduced"),       # wholly below
    (0.35, 0.45, "inconclusive"),        # straddles the lower edge
    (0.55, 0.65, "inconclusive"),        # straddles the upper edge
    (0.3, 0.7, "inconclusive"),          # wider than the band
    (-math.inf, math.inf, "inconclusive"),
])
def test_band_verdict_at_the_edges(lo, hi, expected):
    assert band_verdict(lo, hi, 0.4, 0.6) == expected


def test_one_sided_band():
    assert band_verdict(0.01, 0.09, None, 0.1) == "reproduced"
    assert band_verdict(0.05, 0.12, None, 0.1) == "inconclusive"
    assert band_verdict(0.11, 0.2, None, 0.1) == "not reproduced"
    assert band_verdict(-5.0, -1.0, None, 0.0) == "reproduced"


def test_combine_and_scale():
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert combine(["inconclusive", "not reproduced"]) == "not reproduced"
    with pytest.raises(ValueError, match="at least one"):
        combine([])
    m = measure("x", 0.5, exact(0.5), 0.4, 0.6)
    assert judged([m], "quick") == "reproduced"
    assert judged([m], "quick", applies_at=("paper",)) == "not at this scale"


def test_measure_interval_holds_its_value():
    m = measure("beta", 0.5, (0.52, 0.6, "m"), 0.4, 0.6)  # a percentile interval may miss the point estimate
    assert (m.lo, m.hi) == (0.5, 0.6) and m.verdict == "reproduced"
    assert "beta 0.5 [0.5, 0.6]" == m.text()


def test_ols_interval_is_the_textbook_one():
    x = np.arange(10.0)
    y = 2.0 * x + np.array([0.3, -0.2, 0.1, 0.0, -0.4, 0.2, 0.1, -0.1, 0.3, -0.3])
    lo, hi, method = ols_slope_interval(x, y)
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.975, 8) * fit.stderr
    assert (lo, hi) == pytest.approx((fit.slope - half, fit.slope + half))
    assert lo < 2.0 < hi and method == OLS
    # An exact line has a zero-width interval; two points have none.
    assert ols_slope_interval(x, 3 * x)[:2] == pytest.approx((3.0, 3.0))
    assert ols_slope_interval([1.0, 2.0], [1.0, 2.0])[:2] == (-math.inf, math.inf)


def test_loglog_interval_over_seeds_covers_the_exponent():
    rng = np.random.default_rng(1)
    points = {L: list(L**-0.5 * np.exp(rng.normal(0, 0.05, 3))) for L in (4, 16, 64, 256, 1024)}
    lo, hi, method = loglog_slope_interval(points, "test")
    assert method == BOOT_SEEDS
    means = [np.mean(v) for v in points.values()]
    slope = stats.linregress(np.log(list(points)), np.log(means)).slope
    assert lo < slope < hi and hi - lo < 0.1
    assert abs(lo + 0.5) < 0.05 and abs(hi + 0.5) < 0.05
    # A wider seed spread gives a wider interval.
    noisy = {L: list(L**-0.5 * np.exp(rng.normal(0, 0.3, 3))) for L in points}
    wide = loglog_slope_interval(noisy, "test")
    assert wide[1] - wide[0] > hi - lo
    # Deterministic for a given name.
    assert loglog_slope_interval(points, "test") == (lo, hi, method)
    # One seed everywhere: the OLS interval of the fit.
    single = {L: v[:1] for L, v in points.items()}
    assert loglog_slope_interval(single, "test")[2] == OLS
    # Noise-free seeds: the interval closes on the exact slope.
    clean = {L: [L**-0.5, L**-0.5] for L in (4, 16, 64)}
    assert loglog_slope_interval(clean, "x")[:2] == pytest.approx((-0.5, -0.5))


def test_mean_interval():
    lo, hi, method = mean_interval([0.8, 0.9, 1.0], "acc")
    assert 0.8 <= lo < 0.9 < hi <= 1.0 and method == BOOT_SEEDS
    assert mean_interval([0.7], "acc")[:2] == (0.7, 0.7)
