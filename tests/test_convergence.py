"""R1, R4 and R5 helpers on sequences with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from deeplimits.convergence import best_minima, check_law, doubling_grid, window_oscillation


def _states(f, depth, inputs=3):
    """(n, y(n)) for n = 1..depth, y(n) = f(n) on every input (a row per input)."""
    base = np.arange(1, inputs + 1, dtype=float)[:, None]
    return ((n, base * f(n)) for n in range(1, depth + 1))


def test_a_sequence_converging_at_a_known_rate():
    # y(n) = 1 + n^-1 (times the input): osc(D) = ((D/2)^-1 - D^-1) / (1 + D^-1) = 1 / (D + 1).
    grid = doubling_grid(8, 1024)
    osc = window_oscillation(_states(lambda n: np.array([1.0 + 1.0 / n, 2.0]), 1024), grid)
    for d in grid:
        top = np.linalg.norm([1.0 / (d // 2) - 1.0 / d, 0.0])
        assert osc[d] == pytest.approx(top / np.linalg.norm([1.0 + 1.0 / d, 2.0]))
    slope = np.polyfit(np.log(grid), np.log([osc[d] for d in grid]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.02)


def test_a_cycle_whose_period_divides_half_the_depth_is_not_convergent():
    # Period 4 divides every D/2 >= 4: the endpoint gap y(D) - y(D/2) is 0, the oscillation is not.
    cycle = [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([-1.0, 0.0]), np.array([0.0, -1.0])]
    grid = doubling_grid(8, 512)
    states = list(_states(lambda n: cycle[n % 4], 512))
    osc = window_oscillation(states, grid)
    ys = dict(states)
    assert all(np.allclose(ys[d], ys[d // 2]) for d in grid)  # what an endpoint gap sees
    assert all(osc[d] == pytest.approx(2.0) for d in grid)     # ||e1 - (-e1)|| / ||e1||
    # An odd period too.
    osc3 = window_oscillation(_states(lambda n: cycle[n % 3], 512), grid)
    assert min(osc3.values()) > 1.0


def test_window_needs_even_depths():
    with pytest.raises(ValueError, match="even"):
        window_oscillation([], [3])
    assert doubling_grid(128, 4096) == [128, 256, 512, 1024, 2048, 4096]


def test_a_pure_power_law_holds():
    x = np.array([4, 8, 16, 32, 64, 128.0])
    law = check_law(x, 3 * x**-0.7, tolerance=0.05)
    assert law.slope == pytest.approx(-0.7) and law.first_half == pytest.approx(-0.7)
    assert law.holds and law.note() == ""


def test_a_broken_power_law_is_named_with_its_local_slopes():
    x = np.array([4, 8, 16, 32, 64, 128.0])
    y = np.where(x <= 16, x**-1.0, 16**-1.0 * (x / 16) ** -0.2)
    law = check_law(x, y, tolerance=0.25)
    assert law.monotone and not law.agree and not law.holds
    assert law.first_half == pytest.approx(-1.0) and law.second_half == pytest.approx(-0.2)
    assert law.note() == "no single power law over 4..128: local slopes -1, -0.2"


def test_a_non_monotone_sequence_is_named_as_such():
    # The CRX.4 relu sequence of the review: it falls, then rises again.
    x = np.array([284, 700, 1800, 4388, 7583.0])
    y = np.array([0.157, 0.06, 0.02, 0.0032, 0.148])
    law = check_law(x, y, tolerance=0.25)
    assert not law.monotone and law.note().startswith("non-monotone sequence over 284..7583")


def test_a_log_law():
    x = np.array([4, 16, 64, 256.0])
    law = check_law(x, 0.5 + 2 * np.log(x), tolerance=0.1, kind="log")
    assert law.slope == pytest.approx(2.0) and law.holds


def test_best_minimum_uses_converged_solves_only_and_names_the_chain():
    solves = pd.DataFrame([
        {"chain": "warm", "N": 16, "total": 0.0372, "grad_norm": 5e-11},
        {"chain": "cold0", "N": 16, "total": 0.0334, "grad_norm": 8e-11},
        # lower, but stalled at 2.1e-9 against 1e-10: an optimiser may call that a success
        {"chain": "cold1", "N": 16, "total": 0.0300, "grad_norm": 2.1e-9},
        {"chain": "warm", "N": 32, "total": 0.0350, "grad_norm": 4e-5},
    ])
    best = best_minima(solves, gtol=1e-10).set_index("N")
    assert best.loc[16, "minimum"] == 0.0334 and best.loc[16, "chain"] == "cold0"
    assert best.loc[16, "not_converged"] == "cold1 (max|grad| 2.1e-09)"
    assert math.isnan(best.loc[32, "minimum"]) and best.loc[32, "not_converged"].startswith("warm")


def test_a_deterministic_solve_records_why_it_stopped_and_its_gradient():
    import torch

    from deeplimits.engine.lbfgs import minimise

    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    done = minimise([x], lambda: ((x - target) ** 2).sum(), max_iter=100)
    assert done["stop_reason"] in ("gradient below tolerance_grad", "no progress (tolerance_change)")
    assert done["grad_norm"] <= 1e-9 and 0 < done["iterations"] < 100
    y = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    # Rosenbrock from far away: 3 iterations are not enough.
    cut = minimise([y], lambda: (1 - y[0]) ** 2 + 100 * (y[1] - y[0] ** 2) ** 2, max_iter=3)
    assert cut["stop_reason"] in ("max_iter reached", "max_eval reached") and cut["grad_norm"] > 1e-9
