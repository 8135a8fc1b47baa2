"""Every interval method in a claim file covers the truth at nominal 95% (simulated), at the
draw counts the config uses; the docs page with the measured coverage is up to date."""

import pytest

from deeplimits.config import load_config
from deeplimits.coverage import (
    DOCS_PAGE,
    DRAW_COUNTS,
    FIT_POINTS,
    SPEARMAN_CELLS,
    WELCH_COUNTS,
    coverage_page,
    mean_coverage,
    ols_coverage,
    spearman_coverage,
    welch_coverage,
)
from deeplimits.uncertainty import METHODS, OLS, SPEARMAN, STUDENT_T, WELCH, spearman_interval, welch_interval


def test_every_method_a_claim_may_name_is_simulated_here():
    # The smoke DAG test checks every claim file's methods against METHODS.
    assert set(METHODS) - {STUDENT_T, WELCH, SPEARMAN, OLS} == {"deterministic", "not fitted"}  # no interval


@pytest.mark.parametrize("n", DRAW_COUNTS)
def test_student_t_covers_a_normal_mean(n):
    assert mean_coverage("normal", n, reps=2000) >= 0.92


@pytest.mark.parametrize("n", WELCH_COUNTS)
def test_welch_covers_a_difference_of_normal_means(n):
    assert welch_coverage("normal", n, reps=2000) >= 0.92


def test_welch_interval_on_a_known_case():
    """Two groups of 3 with variances 1 and 4: se^2 = 1/3 + 4/3, df = (5/3)^2 / ((1/9 + 16/9) / 2)."""
    from scipy import stats

    diff, lo, hi, method = welch_interval([1.0, 2.0, 3.0], [0.0, 2.0, 4.0])
    df = (5 / 3) ** 2 / ((1 / 9 + 16 / 9) / 2)
    half = stats.t.ppf(0.975, df) * (5 / 3) ** 0.5
    assert diff == 0.0 and lo == pytest.approx(-half) and hi == pytest.approx(half) and "n = 3 and 3" in method


@pytest.mark.parametrize("n", SPEARMAN_CELLS)
def test_spearman_bca_covers_a_normal_rank_correlation(n):
    assert spearman_coverage(n, reps=400) >= 0.92


def test_spearman_interval_on_known_cases():
    """A monotone relation has rho 1 (every resample too); reversed, -1; the interval holds its point."""
    import numpy as np

    x = np.arange(10.0)
    rho, lo, hi, method = spearman_interval(x, x**3)
    assert rho == 1.0 and lo == hi == 1.0 and "n = 10 cells" in method
    assert spearman_interval(x, -x)[0] == -1.0
    rng = np.random.default_rng(0)
    a = rng.standard_normal(30)
    rho, lo, hi, _ = spearman_interval(a, a + rng.standard_normal(30))
    assert lo < rho < hi and 0 < rho < 1


@pytest.mark.parametrize("n", FIT_POINTS)
def test_ols_covers_a_normal_slope(n):
    assert ols_coverage("normal", n, reps=2000) >= 0.92


def test_a_percentile_bootstrap_over_two_draws_would_fail_this_test():
    """The method this replaces: resampling 2 seeds covers a normal mean about half the time."""
    import numpy as np

    rng = np.random.default_rng(0)
    draws = rng.normal(1.0, 0.5, (2000, 2))
    picks = rng.integers(0, 2, (2000, 500, 2))
    means = np.take_along_axis(draws[:, None, :].repeat(500, 1), picks, 2).mean(2)
    lo, hi = np.percentile(means, [2.5, 97.5], axis=1)
    assert ((lo <= 1.0) & (1.0 <= hi)).mean() < 0.6


def test_the_draw_counts_in_use_are_simulated(repo):
    for scale in ("quick", "paper"):
        experiments = load_config(repo / "config.yaml", {"scale": scale})["experiments"]
        counts = {e[k] for e in experiments.values() for k in ("seeds", "n_segments") if k in e}
        # One draw (HZ.2 at paper scale, as the authors) has no interval at all: nothing to cover.
        assert counts - {1} <= set(DRAW_COUNTS), (scale, counts - set(DRAW_COUNTS))


def test_the_coverage_page_is_up_to_date(repo):
    from deeplimits.coverage import coverage_table

    assert (repo / DOCS_PAGE).read_text() == coverage_page(coverage_table()), \
        "docs/interval-coverage.md is stale: run python -m deeplimits coverage"
