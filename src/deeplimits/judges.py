"""Judges: a claim's verdict as a pure function of its claim file's values (as torchdiffeq's
SOLVERS, a table: name -> function). The registry names each claim's judge; this module
imports no analysis, so analyses, the table builder and the tests all read verdicts from here.

Every judge takes the stored values and the band verdict of each stored measure
(uncertainty.band_verdict), and returns one of uncertainty.JUDGED.
"""

from __future__ import annotations

from .registry import EARLIER_DESIGN, claim_of
from .uncertainty import band_verdict, combine, non_degenerate


def judge_measures(values: dict, verdicts: list[str]) -> str:
    """Every treated number's interval inside its band: reproduced; one wholly outside: not
    reproduced; else inconclusive."""
    return combine(verdicts)


def apply_controls(verdict: str, measures: list[dict], verdicts: list[str]) -> tuple[str, str]:
    """R2's table, after the treated verdict: a reproduced claim stays so only when each
    control lies inside its own band (where the conclusion fails) and is non-degenerate
    (recomputed from its output-norm ratios); the reason when it does not."""
    if verdict != "reproduced":
        return verdict, ""
    for m, v in zip(measures, verdicts):
        if m.get("role") != "control":
            continue
        if not non_degenerate(m.get("ratios", ())):
            return "inconclusive", f"control degenerate ({m['name']}: output-norm ratios outside 1e-3..1e3)"
        if v == "reproduced":
            continue
        if band_verdict(m["lo"], m["hi"], *m["treated_band"]) == "reproduced":
            return "inconclusive", f"the test does not discriminate ({m['name']} behaves like the treated arm)"
        return "inconclusive", f"control {m['name']} neither fails nor holds clearly (its interval is not inside its band)"
    return "reproduced", ""


def decide_measures(measures: list[dict], verdicts: list[str], judge_name: str = "measures",
                    values: dict | None = None) -> tuple[str, str]:
    """The verdict and its reason from the measures (as stored) and their band verdicts: the
    judge decides from the treated numbers, then R2's controls (apply_controls)."""
    treated = [v for m, v in zip(measures, verdicts) if m.get("role", "treated") == "treated"]
    if not treated:
        raise ValueError("a judged claim needs at least one treated number")
    verdict = JUDGES[judge_name]({**(values or {}), "measures": measures}, treated)
    return apply_controls(verdict, measures, verdicts)


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


def judge(claim_id: str, values: dict, scale: str, design: str | None = None) -> str:
    """A claim's verdict from its claim file's `values` and the scale.

    Each stored measure is judged again from its interval and band; the claim's judge decides
    from the treated numbers and R2's controls must then fail (apply_controls). A claim with no
    measures could not be judged at this scale, one whose target does not apply here is "not
    at this scale", a trend the claim only reports is "reported", and one that reads a solve
    that did not converge is "inconclusive" (R5). An analysis sets `values["judgeable"]` false
    where its target does not apply to what ran (HZ.2 off CIFAR-10 at D = 75). `design`: the
    design the values come from (default the claim's current one); an earlier design may have
    its own judge (registry: Claim.earlier_judges)."""
    return _decide(claim_id, values, scale, design)[0]


def verdict_of(record: dict) -> str:
    """A claim file's verdict judged again from its stored values, scale and design."""
    return judge(record["claim"], record["values"], record["scale"], record.get("design", EARLIER_DESIGN))


def judge_reason(claim_id: str, values: dict, scale: str) -> str:
    """Why a judged claim is inconclusive for a reason its intervals do not show: it reads a
    solve that did not converge (R5), or its treated numbers pass but a control does not fail
    or is degenerate (R2); "" otherwise."""
    return _decide(claim_id, values, scale)[1]


def _decide(claim_id: str, values: dict, scale: str, design: str | None = None) -> tuple[str, str]:
    c = claim_of(claim_id)
    judge_name = c.judge if design in (None, c.design) else c.earlier_judges.get(design, c.judge)
    if judge_name == REPORTED:
        return REPORTED, ""
    measures = values.get("measures", [])
    if scale not in c.applies_at or not measures or not values.get("judgeable", True):
        return "not at this scale", ""
    if judge_name not in JUDGES:
        raise KeyError(f"claim {claim_id}: unknown judge {judge_name!r}; known: {', '.join(JUDGES)}, {REPORTED}")
    if values.get("unconverged"):  # R5: a number read from a solve that did not converge
        return "inconclusive", "reads solves that did not converge: " + "; ".join(values["unconverged"])
    verdicts = [band_verdict(m["lo"], m["hi"], m["band_lo"], m["band_hi"]) for m in measures]
    return decide_measures(measures, verdicts, judge_name, values)


def judged(measures, scale: str, applies_at: tuple[str, ...] = ("smoke", "quick", "paper")) -> str:
    """The verdict of judged numbers (uncertainty.Measure) at this scale, before a claim file exists."""
    if scale not in applies_at:
        return "not at this scale"
    return combine(m.verdict for m in measures)
