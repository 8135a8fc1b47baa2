import json
import re

import numpy as np
import pandas as pd
import pytest

from deeplimits.analysis.fit import log_linear_rate, loglog_slope, relative_spread
from deeplimits.claims import CLAIMS, build_table, write_claim

from .claim_files import claim_with


def test_loglog_slope_recovers_a_power_law():
    n = np.arange(1, 501)
    fit = loglog_slope(n, 3.0 * n**-1.2, n_min=10)
    assert fit.slope == pytest.approx(-1.2, abs=1e-12)
    assert fit.n_points == 491


def test_loglog_slope_with_noise_is_close():
    rng = np.random.default_rng(0)
    n = np.arange(1, 2001)
    values = n**-0.7 * np.exp(rng.normal(0, 0.05, n.size))
    assert loglog_slope(n, values, 10).slope == pytest.approx(-0.7, abs=0.01)


def test_log_linear_rate_recovers_exponential_decay():
    steps = np.arange(300)
    fit = log_linear_rate(steps, 2.0 * np.exp(-0.015 * steps), step_min=50)
    assert fit.slope == pytest.approx(-0.015, abs=1e-12)


def test_relative_spread():
    assert relative_spread([-1.0, -1.1, -0.9]) == pytest.approx(0.2)


def test_table_lists_every_claim_and_marks_missing_ones_not_run(tmp_path):
    f = tmp_path / "c.json"
    claim_with(f, "HZ.1", "reproduced", scale="smoke")
    frame = build_table([f], "smoke", tmp_path / "claims.csv", tmp_path / "claims.md")
    assert list(frame.claim) == list(CLAIMS)
    row = frame.set_index("claim")
    assert row.loc["HZ.1", "verdict"] == "reproduced"
    assert row.loc["HZ.1", "provenance"] == "published"
    assert row.loc["TvG.5", "verdict"] == "not run"
    md = (tmp_path / "claims.md").read_text()
    assert "| HZ.1 | published | reproduced |" in md
    partial = build_table([f], "paper", tmp_path / "p.csv", tmp_path / "p.md", missing_note="needs a GPU")
    assert partial.set_index("claim").loc["TvG.5", "note"] == "needs a GPU"
    assert partial.set_index("claim").loc["HZ.1", "note"] != "needs a GPU"


def test_a_part_left_out_of_a_table_is_named_in_its_row(tmp_path):
    f = tmp_path / "ode.json"
    claim_with(f, "CRX.4", "reproduced", note="same epochs", label="ode")
    frame = build_table([f], "paper", tmp_path / "p.csv", tmp_path / "p.md", missing_note="needs a GPU",
                        left_out=[("CRX.4", "mnist_features")]).set_index("claim")
    assert frame.loc["CRX.4", "verdict"] == "reproduced"
    assert frame.loc["CRX.4", "note"] == "same epochs; [mnist_features] needs a GPU"
    assert frame.loc["CRX.1", "note"] == "needs a GPU"
    with pytest.raises(KeyError, match="CRX.9"):
        build_table([f], "paper", tmp_path / "p.csv", tmp_path / "p.md", left_out=[("CRX.9", "x")])


def test_write_claim_refuses_unknown_ids_and_judges_the_verdict_itself(tmp_path):
    with pytest.raises(KeyError, match="HZ.9"):
        claim_with(tmp_path / "x.json", "HZ.9", "reproduced")
    # The verdict is never passed in: it is judged from the measures.
    with pytest.raises(TypeError):
        write_claim({"claim": tmp_path / "x.json"}, "claim", "HZ.1", scale="paper", measured="", target="",
                    tolerance="", verdict="great")
    assert claim_with(tmp_path / "y.json", "HZ.1", "not reproduced")["verdict"] == "not reproduced"


def test_claim_file_carries_provenance_word(tmp_path):
    rec = claim_with(tmp_path / "x.json", "CRX.1", "not reproduced", scale="quick")
    assert json.loads((tmp_path / "x.json").read_text())["provenance"] == rec["provenance"] == "reconstructed"


def test_a_claim_measured_on_several_datasets_gets_one_row_with_the_weakest_verdict(tmp_path):
    files = []
    for label, v in (("digits", "reproduced"), ("fashion_mnist", "not reproduced")):
        f = tmp_path / f"{label}.json"
        claim_with(f, "TvG.1", v, measured=f"m on {label}", label=label)
        files.append(f)
    frame = build_table(files, "paper", tmp_path / "c.csv", tmp_path / "c.md").set_index("claim")
    assert frame.loc["TvG.1", "verdict"] == "not reproduced"
    assert frame.loc["TvG.1", "measured"] == "[digits] m on digits; [fashion_mnist] m on fashion_mnist"


def test_a_table_rendered_before_its_run_ends_names_what_is_pending(tmp_path):
    f = tmp_path / "digits.json"
    claim_with(f, "TvG.1", "reproduced", label="digits")
    frame = build_table([f], "paper", tmp_path / "c.csv", tmp_path / "c.md",
                        pending=["TvG.1:fashion_mnist", "XZ.4"]).set_index("claim")
    assert frame.loc["TvG.1", "verdict"] == "reproduced"
    assert frame.loc["TvG.1", "note"].endswith("[fashion_mnist] no result yet in the results this table was rendered from "
                                               "(its run is not finished)")
    assert frame.loc["XZ.4", "verdict"] == "not run" and frame.loc["XZ.4", "note"].startswith("no result yet")
    assert frame.loc["HZ.2", "note"] == "no analysis for this claim in the pipeline yet"


def test_the_notebooks_verdict_table_shows_every_cell_in_full():
    import pandas as pd

    from deeplimits.claims import verdict_table

    long = "rate spread 0.0923 [0.084, 0.101]; slowest rate -0.0292 [-0.0292, -0.0292]; " * 4
    frame = pd.DataFrame([{"claim": "CRX.1", "interval": long, "note": float("nan"), "target": "a < b & c"}],
                         index=[7])
    html = verdict_table(frame, ["claim", "interval", "note", "target"])
    assert long.strip() in html and "..." not in html          # nothing cut
    assert "nan" not in html.lower() and "<td></td>" in html   # a missing note is an empty cell
    assert ">7<" not in html and "a &lt; b &amp; c" in html     # no index; text escaped
    assert html.count("<th>") == 4
    assert '<td class="short">CRX.1</td>' in html  # an id or a verdict never wraps mid-word


def test_a_notebook_table_has_its_title_no_index_and_no_nan(monkeypatch):
    import IPython.display
    import pandas as pd

    from deeplimits.notebooks import show_table

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    grouped = pd.DataFrame({"alpha": [1.0, 1.0, 0.5], "slope": [-1.0, -1.2, float("nan")]}).groupby("alpha")
    show_table(grouped.slope.agg(["mean", "max"]), "XZ.2 slopes & more")
    html = shown[0]
    assert "<p><b>XZ.2 slopes &amp; more</b></p>" in html
    assert "nth-child(1)" not in html  # alpha is a number: right-aligned as the notebook's style has it
    show_table(pd.DataFrame({"arm": ["a"], "slope": [1.0]}), "second")
    name = re.search(r'class="dataframe (deeplimits-table-\d+)"', shown[1]).group(1)
    assert f".{name} td:nth-child(1)" in shown[1] and name not in html  # text left-aligned, in this table only
    assert "<th>alpha</th>" in html and "<th>mean</th>" in html  # the group keys are a column
    assert "NaN" not in html and "nan" not in html and "<td></td>" in html  # a missing value is empty
    assert "<td>-1.1</td>" in html and "<td>0</td>" not in html  # no positional index


def test_the_markdown_table_escapes_what_markdown_would_read_as_markup():
    import pandas as pd

    from deeplimits.claims import COLUMNS, to_markdown

    row = {c: "" for c in COLUMNS} | {"claim": "HZ.2", "note": "every term / (k*k*width^3), claim_xz3 | x",
                                     "verdict": "reported"}
    md = to_markdown(pd.DataFrame([row], columns=COLUMNS))
    assert r"(k\*k\*width^3), claim\_xz3 \| x" in md


def test_the_report_landing_page_is_short_coloured_and_starts_at_its_top():
    from deeplimits.claims import LANDING_TEXT, to_rst

    frame = pd.DataFrame([
        {"claim": "HZ.1", "verdict": "reproduced", "interval": "slope a=1 -2 [-2.1, -1.9]; slope a=2 -3 [-3.1, -2.9]",
         "figure": "hz1_increments.png"},
        {"claim": "XZ.3", "verdict": "reported", "interval": "", "figure": "xz3_layer_norms.png, xz3_more.png"},
        {"claim": "XZ.3b", "verdict": "reported", "interval": "", "measured": "W decreasing; b flat", "figure": ""},
        {"claim": "CRX.4", "verdict": "not reproduced", "interval": "beta " + "x" * 200, "figure": ""},
        {"claim": "XZ.2", "verdict": "reproduced", "interval": "control: slope a=-0.5 0 [-0.1, 0.1]; reported: "
         "slope a=0 -0.5 [-0.6, -0.4]; slope a=1 -1.5 [-1.6, -1.4]", "figure": ""},
        {"claim": "CRX.2", "verdict": "reported", "interval": "reported: beta 0.49 [0.48, 0.5]", "figure": ""}])
    rst = to_rst(frame, "quick")
    rows = rst.split("   * - ")[2:]
    assert rows[0].splitlines()[1:] == ["     - :vreproduced:`reproduced`", "     - slope a=1 -2 [-2.1, -1.9]",
                                        "     - `hz1_increments.png`_"]
    assert "     - none" in rows[1] and "`xz3_more.png`_" in rows[1]  # never a lone "-" (a bullet)
    long = rows[3].splitlines()[2].removeprefix("     - ")
    assert len(long) == LANDING_TEXT and long.endswith("...") and ":vnotreproduced:`not reproduced`" in rows[3]
    # The treated arm's number leads, not the control's; a claim with only reported numbers shows
    # one; a trend without an interval shows the start of what it measured.
    assert rows[4].splitlines()[2] == "     - slope a=1 -1.5 [-1.6, -1.4]"
    assert rows[5].splitlines()[2] == "     - reported: beta 0.49 [0.48, 0.5]"
    assert rows[2].splitlines()[2] == "     - W decreasing"
    assert "span.vnotreproduced {color:" in rst and "align-items: flex-start !important" in rst
    assert ".. role:: vnotreproduced" in rst and "reproduced: 2, not reproduced: 1, reported: 3" in rst
