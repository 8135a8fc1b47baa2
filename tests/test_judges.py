"""The judges on hand-made values: R2's table row by row, at the band edges, and the table."""

import pytest

from deeplimits.judges import JUDGES, decide_measures, judge, verdict_of, xz4_verdict
from deeplimits.uncertainty import band_verdict, measure

# A claim "the slope is <= -0.5 when the condition holds": the control (condition broken)
# must show a slope >= -0.1 with outputs of order one.
TREATED_BAND = (None, -0.5)
CONTROL_BAND = (-0.1, None)
WORKING = [0.5, 2.0, 8.0]


def _treated(lo, hi):
    return measure("slope", (lo + hi) / 2, (lo, hi, "t"), *TREATED_BAND).as_dict()


def _control(lo, hi, ratios=WORKING):
    return measure("slope (control)", (lo + hi) / 2, (lo, hi, "t"), *CONTROL_BAND, role="control",
                   treated_band=TREATED_BAND, ratios=ratios).as_dict()


def _decide(*measures):
    return decide_measures(list(measures), [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"])
                                            for m in measures])


@pytest.mark.parametrize("treated, control, verdict, reason", [
    # treated inside its band; control inside the control band, non-degenerate
    ((-1.2, -0.8), (-0.05, 0.1), "reproduced", ""),
    # ... control inside the treated band: the test does not discriminate
    ((-1.2, -0.8), (-1.1, -0.7), "inconclusive", "does not discriminate"),
    # ... control straddles a band edge
    ((-1.2, -0.8), (-0.2, 0.0), "inconclusive", "neither fails nor holds"),
    # ... control between the bands
    ((-1.2, -0.8), (-0.4, -0.2), "inconclusive", "neither fails nor holds"),
    # treated straddles its band edge: inconclusive whatever the control
    ((-0.7, -0.3), (-0.05, 0.1), "inconclusive", ""),
    # treated wholly outside its band: not reproduced whatever the control
    ((-0.3, 0.1), (-0.05, 0.1), "not reproduced", ""),
    ((-0.3, 0.1), (-1.1, -0.7), "not reproduced", ""),
    # the band edges belong to the bands
    ((-1.0, -0.5), (-0.1, 0.3), "reproduced", ""),
])
def test_r2_table_row_by_row(treated, control, verdict, reason):
    got = _decide(_treated(*treated), _control(*control))
    assert got[0] == verdict and reason in got[1]


@pytest.mark.parametrize("ratios", [[3e-11, 1.0, 1.0], [1.0, 1418.0], []])
def test_a_degenerate_control_makes_the_claim_inconclusive(ratios):
    assert _decide(_treated(-1.2, -0.8), _control(-0.05, 0.1, ratios)) == (
        "inconclusive", "control degenerate (slope (control): output-norm ratios outside 1e-3..1e3)")


def test_non_degeneracy_is_recomputed_from_the_ratios_not_a_stored_flag():
    c = _control(-0.05, 0.1, [1e-9])
    c["non_degenerate"] = True  # a stored flag is not trusted
    assert _decide(_treated(-1.2, -0.8), c)[0] == "inconclusive"


def test_reported_numbers_are_not_judged_and_a_claim_needs_a_treated_one():
    reported = measure("alpha = 0", 5.0, (4.0, 6.0, "t"), None, None, role="reported").as_dict()
    assert _decide(_treated(-1.2, -0.8), reported)[0] == "reproduced"
    with pytest.raises(ValueError, match="treated"):
        _decide(reported)


def test_control_bands_must_be_disjoint_from_the_treated_band():
    with pytest.raises(ValueError, match="overlaps the treated band"):
        measure("c", 0.0, (-0.1, 0.1, "t"), -0.6, None, role="control", treated_band=TREATED_BAND)


def test_xz4_verdict_from_per_depth_states():
    assert xz4_verdict({("he", 4): "learns", ("convergent", 4): "learns",
                        ("he", 64): "fails", ("convergent", 64): "learns"}) == "reproduced"
    assert xz4_verdict({("he", 64): "learns", ("convergent", 64): "fails"}) == "not reproduced"
    assert xz4_verdict({("he", 64): "unsure", ("convergent", 64): "learns"}) == "inconclusive"
    assert set(JUDGES) == {"measures", "xz4"}


def test_every_snapshot_claim_file_keeps_its_verdict_when_judged_again(repo):
    """A claim file of an earlier design is judged by that design's judge (XZ.4's first design by
    its per-depth states, CRX.2's by its measures): re-judged from its stored values, every file
    of artifacts/paper-cpu gives the verdict it holds."""
    import json

    files = sorted((repo / "artifacts" / "paper-cpu").rglob("claim*.json"))
    assert files
    for f in files:
        record = json.loads(f.read_text())
        assert verdict_of(record) == record["verdict"], f


def test_an_earlier_design_has_its_own_judge():
    from deeplimits.registry import CLAIMS, EARLIER_DESIGN

    values = {"cases": [{"init": "he", "depth": 64}, {"init": "convergent", "depth": 64}],
              "measures": [measure("he D=64", 0.15, (0.1, 0.2, "t"), 0.5, None).as_dict(),
                           measure("convergent D=64", 0.8, (0.7, 0.9, "t"), 0.5, None).as_dict()]}
    assert CLAIMS["XZ.4"].earlier_judges == {EARLIER_DESIGN: "xz4"}
    assert judge("XZ.4", values, "quick", EARLIER_DESIGN) == "reproduced"  # He fails, the convergent init learns
    assert judge("XZ.4", values, "quick") == "not reproduced"  # read as the current design's measures


def test_a_claim_reading_a_solve_that_did_not_converge_is_inconclusive_and_names_it():
    from deeplimits.judges import judge, judge_reason

    values = {"measures": [measure("order from N=8", 1.0, (1.0, 1.0, "deterministic"), 0.5, 1.5).as_dict()]}
    assert judge("TvG.1", values, "quick") == "reproduced" and judge_reason("TvG.1", values, "quick") == ""
    stalled = {**values, "unconverged": ["warm N=128 (max|grad| 2.1e-09 > gtol 1e-10)"]}
    assert judge("TvG.1", stalled, "quick") == "inconclusive"
    assert judge_reason("TvG.1", stalled, "quick") == (
        "reads solves that did not converge: warm N=128 (max|grad| 2.1e-09 > gtol 1e-10)")


def _treated_for(judge_name, passing=True):
    """Treated numbers that the judge passes (or fails), with the values it reads beside them."""
    if judge_name == "measures":
        return [_treated(-1.2, -0.8) if passing else _treated(-0.3, 0.1)], {}
    # xz4: He fails at depth 64 and the convergent init learns there (threshold 0.5)
    he, conv = (0.1, 0.2), (0.7, 0.9) if passing else (0.1, 0.2)
    cases = [measure("he D=64", sum(he) / 2, (*he, "t"), 0.5, None).as_dict(),
             measure("convergent D=64", sum(conv) / 2, (*conv, "t"), 0.5, None).as_dict()]
    return cases, {"cases": [{"init": "he", "depth": 64}, {"init": "convergent", "depth": 64}]}


@pytest.mark.parametrize("judge_name", sorted(JUDGES))
@pytest.mark.parametrize("control, expected", [
    ((-0.05, 0.1), "reproduced"),          # inside the control band, non-degenerate
    ((-1.1, -0.7), "does not discriminate"),  # inside the treated band
    ((-0.4, -0.2), "neither fails"),          # between the bands
    ((-0.2, 0.0), "neither fails"),           # straddles the control band's edge
])
def test_every_judge_applies_r2_to_its_controls(judge_name, control, expected):
    treated, values = _treated_for(judge_name)
    measures = [*treated, _control(*control)]
    verdicts = [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"]) for m in measures]
    verdict, why = decide_measures(measures, verdicts, judge_name, values)
    assert verdict == ("reproduced" if expected == "reproduced" else "inconclusive")
    assert expected == "reproduced" or expected in why
    degenerate = [*treated, _control(*control, ratios=[1e-9])]
    assert decide_measures(degenerate, [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"])
                                        for m in degenerate], judge_name, values)[0] == "inconclusive"
    failing, values = _treated_for(judge_name, passing=False)
    measures = [*failing, _control(*control)]
    assert decide_measures(measures, [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"]) for m in measures],
                           judge_name, values)[0] == "not reproduced"
