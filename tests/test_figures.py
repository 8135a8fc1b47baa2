"""Figures draw what their tables say: each panel's curves from its own part of the table."""

import numpy as np
import pandas as pd
import pytest

from deeplimits import figures


def test_crx4_entry_draws_each_panels_trend_from_its_own_model(tmp_path):
    s = np.linspace(0, 1, 20)
    # Rows in an order whose groupby order differs from the facets' order of appearance.
    parts = [pd.DataFrame({"dataset": "ode", "model": model, "depth": 95, "s": s, "entry": trend + 0.01 * np.sin(9 * s),
                           "trend": trend, "noise": 0.01 * np.sin(9 * s)})
             for model, trend in (("tanh_shared", -1.0), ("relu_layer", 2.0))]
    fig = figures.plot_crx4_entry(pd.concat(parts, ignore_index=True), tmp_path / "entry.png")
    drawn = {}
    for ax in fig.axes:
        red = [line for line in ax.get_lines() if line.get_label() == "trend (moving average)"]
        drawn[ax.get_title()] = set(np.round(red[0].get_ydata(), 6))
    assert drawn == {"series = ode / tanh_shared": {-1.0}, "series = ode / relu_layer": {2.0}}
    assert (tmp_path / "entry.png").stat().st_size > 5_000


def test_the_figure_lint_finds_a_legend_over_data_and_a_missing_claim_id(monkeypatch):
    """A legend drawn over plotted points is found from the artists' bounding boxes; moved
    beside the axes it is not; a figure without a claim id in any title is refused."""
    import matplotlib.pyplot as plt

    from deeplimits.figures import legends_over_data, lint_figure

    fig, ax = plt.subplots()
    ax.plot(range(20), range(20), "o", label="points")
    ax.legend(loc="center")
    ax.set_title("XZ.1 test")
    assert legends_over_data(fig)
    monkeypatch.setenv("DEEPLIMITS_FIGURE_LINT", "strict")
    with pytest.raises(ValueError, match="legend covers data points"):
        lint_figure(fig)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert legends_over_data(fig) == [] and lint_figure(fig) is None
    ax.set_title("no id")
    with pytest.raises(ValueError, match="claim id"):
        lint_figure(fig)
    plt.close(fig)


def _line_colours(fig) -> dict:
    from matplotlib.colors import to_hex

    return {line.get_label(): to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def test_the_same_alpha_has_the_same_colour_in_every_figure_of_a_paper(tmp_path):
    """XZ.2's two figures and XZ.5's draw an alpha in one colour (alpha = 1 as the convergent
    init, the control grey), and an arm's colour does not depend on which alphas a table holds."""
    from matplotlib.colors import to_hex

    grid = [128, 256, 512]
    osc = pd.DataFrame([{"alpha": a, "sequence": s, "D": d, "osc": 10.0 ** -(1 + a) / d, "output_ratio": 1.0}
                        for a in (-0.5, 0.0, 1.0) for s in range(2) for d in grid])
    xz2 = _line_colours(figures.plot_xz2_oscillation(osc, tmp_path / "osc.png"))
    fewer = _line_colours(figures.plot_xz2_oscillation(osc[osc.alpha != 0.0], tmp_path / "osc2.png"))
    arms = osc[osc.alpha == -0.5].assign(arm="cycle").drop(columns="alpha")
    xz5 = _line_colours(figures.plot_xz5_arms(arms, osc, tmp_path / "xz5.png"))
    c = {a: to_hex(f"C{i}") for a, i in ((1, 0), (-0.5, 7))}
    assert xz2["1"] == fewer["1"] == xz5["XZ.2 alpha = 1"] == c[1] == to_hex(figures.INIT_COLOURS["convergent"])
    assert xz2["-0.5"] == fewer["-0.5"] == c[-0.5]
    assert xz2["0"] == xz5["XZ.2 alpha = 0"]


def test_tvg1_marks_and_differences_the_judged_m_n_not_an_unconverged_lower_solve(tmp_path):
    # At N = 8 a cold start stopped above gtol sits below every converged solve (as at paper
    # scale on digits): the figure must mark and difference m_N, the best converged solve.
    rows = [(chain, a1, n, total) for a1 in (1e-4, 0.0) for chain, n, total in (
        ("greedy", 2, 0.40), ("greedy", 4, 0.20), ("greedy", 8, 0.10), ("cold0", 2, 0.50),
        ("cold0", 4, 0.30), ("cold0", 8, 0.01))]
    objectives = pd.DataFrame(rows, columns=["chain", "a1", "N", "total"])
    minima = pd.DataFrame({"N": [2, 4, 8], "m_N": [0.40, 0.20, 0.10]})
    fig = figures.plot_tvg1_minima(objectives, minima, 0.0, 0.0, tmp_path / "minima.png")
    marks = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("m_N")]
    assert list(marks[0].get_ydata()) == [0.40, 0.20, 0.10]
    differences = [line for line in fig.axes[2].get_lines() if line.get_label() == "|m_N - m_2N|"]
    assert np.allclose(differences[0].get_ydata(), [0.20, 0.10])


def test_tvg1_differences_only_neighbouring_converged_depths(tmp_path):
    objectives = pd.DataFrame([("greedy", 1e-4, n, 1.0 / n) for n in (2, 4, 8)], columns=["chain", "a1", "N", "total"])
    gap = pd.DataFrame({"N": [2, 4, 8], "m_N": [0.5, np.nan, 0.125]})  # N = 4 did not converge
    fig = figures.plot_tvg1_minima(objectives, gap, 0.0, 0.0, tmp_path / "gap.png")
    assert not [line for line in fig.axes[2].get_lines() if line.get_label() == "|m_N - m_2N|"]
    assert "converged" in fig.axes[2].texts[0].get_text()
