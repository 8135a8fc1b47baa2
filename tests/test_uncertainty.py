"""Intervals and the verdicts decided from them, on hand-made values with known answers."""

import math

import numpy as np
import pytest
from scipy import stats

from deeplimits.judges import judged
from deeplimits.uncertainty import (
    DETERMINISTIC,
    OLS,
    band_verdict,
    combine,
    exact,
    mean_interval,
    measure,
    non_degenerate,
    ols_slope_interval,
    over_draws,
    per_draw_loglog_slopes,
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


def test_a_value_outside_its_own_interval_is_refused_never_widened():
    with pytest.raises(ValueError, match="outside its own interval"):
        measure("beta", 0.5, (0.52, 0.6, "m"), 0.4, 0.6)
    m = measure("beta", 0.55, (0.52, 0.6, "m"), 0.4, 0.6)
    assert (m.lo, m.hi) == (0.52, 0.6) and m.text() == "beta 0.55 [0.52, 0.6]"
    d = measure("error", 1e-14, exact(1e-14), None, 1e-10)
    assert d.method == DETERMINISTIC and d.text() == "error 1e-14 (deterministic)" and d.verdict == "reproduced"


def test_a_control_names_the_treated_band_and_keeps_its_ratios():
    with pytest.raises(ValueError, match="treated band"):
        measure("slope", 0.0, (-0.05, 0.05, "m"), -0.1, None, role="control")
    c = measure("slope", 0.0, (-0.05, 0.05, "m"), -0.1, None, role="control", treated_band=(None, -0.5),
                ratios=[2, 3])
    assert c.ratios == (2.0, 3.0) and c.treated_band == (None, -0.5) and c.text().startswith("control: ")
    with pytest.raises(ValueError, match="role"):
        measure("x", 0.0, exact(0.0), None, None, role="arm")


@pytest.mark.parametrize("ratios, expected", [([1.0, 2.0], True), ([1e-3, 1e3], True), ([3e-11, 1.0], False),
                                              ([1.0, 1418.0], False), ([], False), ([1.0, math.nan], False)])
def test_non_degenerate_control(ratios, expected):
    assert non_degenerate(ratios) is expected


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


def test_mean_interval_is_the_student_t_one():
    v = [0.8, 0.9, 1.0]
    lo, hi, method = mean_interval(v, "acc")
    half = stats.t.ppf(0.975, 2) * np.std(v, ddof=1) / math.sqrt(3)
    assert (lo, hi) == pytest.approx((0.9 - half, 0.9 + half)) and method.startswith("Student-t") and "n = 3" in method
    # One draw has no interval (it is never given a zero-width one).
    assert all(math.isnan(x) for x in mean_interval([0.7], "acc")[:2])
    m = over_draws("acc", [0.7], 0.5, None)
    assert m.verdict == "inconclusive"


def test_per_draw_slopes_recover_each_draws_exponent():
    import pandas as pd

    rows = [{"seed": s, "depth": L, "v": (1 + s) * L ** (-0.5 - 0.1 * s)} for s in range(3) for L in (4, 16, 64)]
    slopes = per_draw_loglog_slopes(pd.DataFrame(rows), "depth", "v")
    assert slopes == pytest.approx([-0.5, -0.6, -0.7])
    m = over_draws("slope", slopes, -1.0, 0.0, what="per-seed slopes")
    assert m.value == pytest.approx(-0.6) and m.lo < -0.6 < m.hi and "per-seed slopes" in m.method


def test_an_arm_with_no_randomness_is_one_number_only_when_its_draws_agree():
    """The zero initialisation's seeds repeat one number: no interval (R3). Draws that differ
    keep their interval, even when the arm was declared deterministic."""
    same = over_draws("zero", [0.25] * 5, 0.0, 0.5, deterministic=True)
    assert same.method == "deterministic" and same.lo == same.hi == same.value == 0.25 and same.verdict == "reproduced"
    differ = over_draws("zero", [0.2, 0.3, 0.25, 0.22, 0.28], 0.0, 0.5, deterministic=True)
    assert differ.method.startswith("Student-t") and differ.lo < 0.25 < differ.hi
    assert over_draws("random", [0.25] * 5, 0.0, 0.5).method.startswith("Student-t")  # not declared: draws
