"""Judges: a claim's verdict as a pure function of its claim file's values (as torchdiffeq's
SOLVERS, a table: name -> function). The registry names each claim's judge; this module
imports no analysis, so analyses, the table builder and the tests all read verdicts from here.

Every judge takes the stored values and the band verdict of each stored measure
(uncertainty.band_verdict), and returns one of uncertainty.JUDGED.
"""

from __future__ import annotations

from .registry import claim_of
from .uncertainty import band_verdict, combine, non_degenerate


def judge_measures(values: dict, verdicts: list[str]) -> str:
    """Every treated number inside its band and every control failing as it must (R2):
    reproduced; a treated number wholly outside its band: not reproduced; else inconclusive."""
    return decide_measures(values["measures"], verdicts)[0]


def decide_measures(measures: list[dict], verdicts: list[str]) -> tuple[str, str]:
    """The verdict and its reason from the measures (as stored) and their band verdicts,
    by R2's table: treated interval inside its band, then each control must lie inside its
    own band (where the conclusion fails) and be non-degenerate (from its ratios)."""
    treated = [v for m, v in zip(measures, verdicts) if m.get("role", "treated") == "treated"]
    if not treated:
        raise ValueError("a judged claim needs at least one treated number")
    verdict = combine(treated)
    if verdict != "reproduced":
        return verdict, ""
    for m, v in zip(measures, verdicts):
        if m.get("role") != "control":
            continue
        lo, hi = m["lo"], m["hi"]
        if not non_degenerate(m.get("ratios", ())):
            return "inconclusive", f"control degenerate ({m['name']}: output-norm ratios outside 1e-3..1e3)"
        if v == "reproduced":
            continue
        if band_verdict(lo, hi, *m["treated_band"]) == "reproduced":
            return "inconclusive", f"the test does not discriminate ({m['name']} behaves like the treated arm)"
        return "inconclusive", f"control {m['name']} neither fails nor holds clearly (its interval is not inside its band)"
    return "reproduced", ""


def judge_xz4(values: dict, verdicts: list[str]) -> str:
    """XZ.4: each measure is one (init, depth) case's accuracy against the learning threshold
    (inside the band: it learns; outside: it fails); see xz4_verdict."""
    states = {"reproduced": "learns", "not reproduced": "fails", "inconclusive": "unsure"}
    return xz4_verdict({(case["init"], case["depth"]): states[v] for case, v in zip(values["cases"], verdicts)})


def xz4_verdict(states: dict) -> str:
    """XZ.4's verdict from the state ("learns" / "fails" / "unsure") of each (init, depth):
    reproduced when the convergent init surely learns at a depth where He surely fails and no
    depth could be lost; not reproduced when a depth is surely lost or none can be rescued."""
    depths = sorted({d for _, d in states})
    he = {d: states.get(("he", d), "unsure") for d in depths}
    conv = {d: states.get(("convergent", d), "unsure") for d in depths}
    rescued = [d for d in depths if he[d] == "fails" and conv[d] == "learns"]
    lost = [d for d in depths if he[d] == "learns" and conv[d] == "fails"]
    could_rescue = [d for d in depths if he[d] != "learns" and conv[d] != "fails"]
    could_lose = [d for d in depths if he[d] != "fails" and conv[d] != "learns"]
    if lost or not could_rescue:
        return "not reproduced"
    if rescued and not could_lose:
        return "reproduced"
    return "inconclusive"


# name (registry: Claim.judge) -> judge; "reported" claims give a trend and no verdict.
JUDGES = {"measures": judge_measures, "xz4": judge_xz4}
REPORTED = "reported"


def judge(claim_id: str, values: dict, scale: str) -> str:
    """A claim's verdict from its claim file's `values` and the scale.

    Each stored measure is judged again from its interval and band and the claim's judge
    combines them; a claim with no measures could not be judged at this scale, one whose
    target does not apply here is "not at this scale", and a trend the claim only reports is
    "reported". An analysis sets `values["judgeable"]` false where its target does not apply
    to what ran (HZ.2 off CIFAR-10 at D = 75)."""
    c = claim_of(claim_id)
    if c.judge == REPORTED:
        return REPORTED
    measures = values.get("measures", [])
    if scale not in c.applies_at or not measures or not values.get("judgeable", True):
        return "not at this scale"
    try:
        decide = JUDGES[c.judge]
    except KeyError:
        raise KeyError(f"claim {claim_id}: unknown judge {c.judge!r}; known: {', '.join(JUDGES)}, {REPORTED}") from None
    if values.get("unconverged"):  # R5: a number read from a solve that did not converge
        return "inconclusive"
    return decide(values, [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"]) for m in measures])


def judge_reason(claim_id: str, values: dict, scale: str) -> str:
    """Why a judged claim is inconclusive for a reason its intervals do not show: it reads a
    solve that did not converge (R5), or its treated numbers pass but a control does not fail
    or is degenerate (R2); "" otherwise."""
    c = claim_of(claim_id)
    measures = values.get("measures", [])
    if judge(claim_id, values, scale) != "inconclusive":
        return ""
    if values.get("unconverged"):
        return "reads solves that did not converge: " + "; ".join(values["unconverged"])
    if c.judge != "measures":
        return ""
    return decide_measures(measures, [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"]) for m in measures])[1]


def judged(measures, scale: str, applies_at: tuple[str, ...] = ("smoke", "quick", "paper")) -> str:
    """The verdict of judged numbers (uncertainty.Measure) at this scale, before a claim file exists."""
    if scale not in applies_at:
        return "not at this scale"
    return combine(m.verdict for m in measures)
