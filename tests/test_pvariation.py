import itertools

import numpy as np
import pytest

from deeplimits.pvariation import p_variation, quadratic_variation


def brute_force(x, p):
    """Max over every partition that keeps both endpoints."""
    n = len(x) - 1
    best = 0.0
    for k in range(n):
        for inner in itertools.combinations(range(1, n), k):
            pts = (0, *inner, n)
            best = max(best, sum(np.linalg.norm(x[b] - x[a]) ** p for a, b in zip(pts[:-1], pts[1:])))
    return best ** (1 / p)


def naive_dp(x, p):
    x = x.reshape(len(x), -1)
    v = np.zeros(len(x))
    for j in range(1, len(x)):
        v[j] = (v[:j] + np.linalg.norm(x[:j] - x[j], axis=1) ** p).max()
    return v[-1] ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_matches_brute_force_on_small_random_paths(p):
    rng = np.random.default_rng(int(p * 10))
    for _ in range(25):
        n = int(rng.integers(1, 11))
        x = rng.normal(size=(n + 1, 2, 2)).cumsum(0)
        assert p_variation(x, p) == pytest.approx(brute_force(x.reshape(n + 1, -1), p), rel=1e-10)


@pytest.mark.parametrize("n", [63, 64, 65, 600, 5000])
def test_matches_the_unpruned_dynamic_programme_across_block_sizes(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3, 3)).cumsum(0)
    for p in (1.5, 2.0, 3.0):
        assert p_variation(x, p) == pytest.approx(naive_dp(x, p), rel=1e-12)


def test_known_cases():
    line = np.linspace(0, 1, 50)[:, None] * np.array([[3.0, 4.0]])
    assert p_variation(line, 1) == pytest.approx(5.0)
    # A monotone straight path: one interval is optimal for p > 1.
    assert p_variation(line, 2) == pytest.approx(5.0)
    zigzag = np.array([[0.0], [1.0], [0.0], [1.0], [0.0]])
    assert p_variation(zigzag, 2) == pytest.approx(2.0)  # four unit jumps: (4 * 1)^(1/2)
    assert p_variation(np.ones((1, 3)), 2) == 0.0
    assert quadratic_variation(zigzag) == pytest.approx(4.0)


def test_p_variation_decreases_in_p_and_bounds_qv():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).cumsum(0)
    v1, v2, v3 = (p_variation(x, p) for p in (1, 2, 3))
    assert v1 >= v2 >= v3
    assert v2**2 >= quadratic_variation(x) - 1e-9


def test_refuses_p_below_one():
    with pytest.raises(ValueError, match="p >= 1"):
        p_variation(np.zeros((3, 2)), 0.5)


@pytest.mark.parametrize("n", [64, 700, 3000])
def test_the_projection_bound_keeps_the_result_exact_on_low_dimensional_paths(n):
    """A smooth signal plus small noise: the cheap projected bound is on, and the result is
    still the unpruned programme's."""
    from deeplimits.pvariation import _projection

    rng = np.random.default_rng(n)
    t = np.linspace(0, 1, n)[:, None]
    x = np.sin(6 * t) * np.ones((1, 9)) + np.cos(11 * t) * np.linspace(-1, 1, 9) + 0.01 * rng.normal(size=(n, 9))
    assert _projection(x)[3]
    for p in (1.5, 2.0, 3.0):
        assert p_variation(x, p) == pytest.approx(naive_dp(x, p), rel=1e-12)


def test_the_projection_bound_is_off_where_it_could_not_prune():
    from deeplimits.pvariation import _projection

    walk = np.random.default_rng(0).normal(size=(2000, 30)).cumsum(0)
    assert not _projection(walk)[3]


def test_the_top_directions_are_orthonormal_and_find_the_signal():
    from deeplimits.pvariation import _top_directions

    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.normal(size=(12, 2)))[0]  # the signal's plane
    sample = rng.normal(size=(500, 2)) * [3.0, 1.0] @ basis.T + 1e-3 * rng.normal(size=(500, 12))
    u = _top_directions(sample, 4)
    assert np.allclose(u.T @ u, np.eye(4), atol=1e-12)
    # The plane lies in the span of the first two columns.
    assert np.allclose(u[:, :2] @ (u[:, :2].T @ basis), basis, atol=1e-3)
