"""Figures draw what their tables say: each panel's curves from its own part of the table."""

import numpy as np
import pandas as pd

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
