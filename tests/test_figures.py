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
