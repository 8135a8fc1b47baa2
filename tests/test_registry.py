"""The claim registry: consistent, the one place file names are spelled, and the judges it
names decide from values alone (a passing and a failing case for each judged claim)."""

from pathlib import Path

import pytest
import yaml

from deeplimits.claims import VERDICTS
from deeplimits.judges import JUDGES, judge
from deeplimits.registry import (
    ANALYSES,
    CLAIMS,
    REFERENCES,
    Cells,
    Data,
    Output,
    Reference,
    Results,
    claim_output,
    figure_files,
    sensitivity_path,
)
from deeplimits.uncertainty import measure

JUDGED = [cid for cid, c in CLAIMS.items() if c.judge != "reported"]


def test_every_claim_names_an_analysis_output_and_tables_of_the_same_analysis():
    for c in CLAIMS.values():
        outputs = ANALYSES[c.analysis].outputs
        assert c.output in outputs and outputs[c.output].endswith(".json"), c.id
        assert set(c.tables) <= set(outputs), c.id
        assert c.provenance in ("published", "reconstructed", "ours")
        for part in c.cpu_parts:
            assert c.output in ANALYSES[part].outputs and ANALYSES[part].function == ANALYSES[c.analysis].function
    files = [claim_output(c) for c in CLAIMS.values()]
    assert len(set(files)) == len(files)  # one file per claim


def test_outputs_of_one_analysis_are_distinct_and_never_shared():
    seen = {}
    for a in ANALYSES.values():
        for path in a.outputs.values():
            assert path not in seen, (path, a.name, seen.get(path))
            seen[path] = a.name


def test_sensitivity_tables_sit_beside_their_claim():
    assert sensitivity_path(CLAIMS["CRX.4"]) == "cont_rossier_xu/crx4/{dataset}/sensitivity"
    assert sensitivity_path(CLAIMS["TvG.1"]) == "thorpe_van_gennip/{dataset}/tvg/sensitivity_tvg1"
    assert figure_files(CLAIMS["TvG.3"], "digits") == {"euler": "figures/thorpe_van_gennip/tvg3_euler_digits.png"}
    r = Results("results/quick")
    assert r.claim("XZ.3") == Path("results/quick/xu_zhang/xz34/claim_xz3.json")
    assert r.path("crx4", "betas", dataset="ode") == Path("results/quick/cont_rossier_xu/crx4/ode/betas.csv")


def test_every_file_name_is_spelled_in_the_registry_alone(repo):
    """The outputs' and figures' names appear in no other file of src/ or workflow/."""
    names = {Path(v).name for a in ANALYSES.values() for v in a.outputs.values()}
    names |= {v.replace("_{dataset}", "") for c in CLAIMS.values() for v in c.figures.values()}
    files = [p for p in [*(repo / "src").rglob("*.py"), *(repo / "workflow").rglob("*")]
             if p.is_file() and p.name != "registry.py"]
    hits = {n: [str(p.relative_to(repo)) for p in files if n in p.read_text(errors="ignore")] for n in names}
    assert {n: h for n, h in hits.items() if h} == {}


def _values(*intervals, band=(0.0, 1.0)):
    return {"measures": [measure(f"m{i}", (lo + hi) / 2, (lo, hi, "test"), *band).as_dict()
                         for i, (lo, hi) in enumerate(intervals)]}


@pytest.mark.parametrize("claim_id", JUDGED)
def test_each_judged_claim_passes_fails_and_is_inconclusive_from_its_values(claim_id):
    scale = CLAIMS[claim_id].applies_at[-1]
    assert judge(claim_id, _values((0.2, 0.4), (0.5, 0.9)), scale) == "reproduced"
    assert judge(claim_id, _values((0.2, 0.4), (1.1, 1.3)), scale) == "not reproduced"
    assert judge(claim_id, _values((0.2, 0.4), (0.9, 1.1)), scale) == "inconclusive"
    # The band edge belongs to the band.
    assert judge(claim_id, _values((0.0, 1.0)), scale) == "reproduced"
    # Nothing judged, a target that does not apply, or a run the target does not fit.
    assert judge(claim_id, {"measures": []}, scale) == "not at this scale"
    assert judge(claim_id, {**_values((0.2, 0.4)), "judgeable": False}, scale) == "not at this scale"


def test_a_target_that_applies_at_paper_scale_only_is_not_judged_below_it():
    assert CLAIMS["HZ.2"].applies_at == ("paper",)
    assert judge("HZ.2", _values((0.2, 0.4)), "quick") == "not at this scale"
    assert judge("XZ.3", _values((5.0, 6.0)), "quick") == "reported"
    assert set(VERDICTS) >= {"reproduced", "not reproduced", "inconclusive", "reported", "not at this scale"}


def test_every_declared_input_names_something_that_exists(repo):
    """An analysis reads registered outputs, experiments of the config, datasets it can be
    given, and reference files that are in the checkout; and every judge is in the table."""
    experiments = yaml.safe_load((repo / "config.yaml").read_text())["experiments"]
    for a in ANALYSES.values():
        assert a.experiment in experiments, a.name
        for name, spec in a.inputs.items():
            if isinstance(spec, Output):
                assert spec.key in ANALYSES[spec.analysis].outputs, (a.name, name)
                assert spec.each is None or spec.each in experiments[a.experiment], (a.name, name)
            elif isinstance(spec, Cells):
                assert (spec.experiment or a.experiment) in experiments, (a.name, name)
            elif isinstance(spec, Reference):
                assert (repo / "reference" / REFERENCES[spec.name]).is_file(), (a.name, name)
            else:
                assert isinstance(spec, Data), (a.name, name)
        assert a.label.format(**{**experiments[a.experiment], "dataset": "ode"}) is not None
    for c in CLAIMS.values():
        assert c.judge in JUDGES or c.judge == "reported", c.id
