"""The claim registry: consistent, the one place file names are spelled, and the judges it
names decide from values alone (a passing and a failing case for each judged claim)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deeplimits.claims import VERDICTS, judge
from deeplimits.registry import ANALYSES, CLAIMS, Results, claim_output, figure_files, sensitivity_table
from deeplimits.uncertainty import measure

JUDGED = [cid for cid, c in CLAIMS.items() if c.judge != "reported"]


def test_every_claim_names_an_analysis_output_and_tables_of_the_same_analysis():
    assert len(CLAIMS) == 17 and len(JUDGED) == 16
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
    assert sensitivity_table(CLAIMS["CRX.4"]) == "cont_rossier_xu/crx4/{dataset}/sensitivity"
    assert sensitivity_table(CLAIMS["TvG.1"]) == "thorpe_van_gennip/{dataset}/tvg/sensitivity_tvg1"
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
    if CLAIMS[claim_id].judge == "xz4":
        cases = {"cases": [{"init": "he", "depth": 64}, {"init": "convergent", "depth": 64}]}
        # He's interval wholly below the threshold (0.5), the convergent init's wholly above.
        assert judge(claim_id, {**_values((0.1, 0.2), (0.7, 0.9), band=(0.5, None)), **cases}, scale) == "reproduced"
        assert judge(claim_id, {**_values((0.7, 0.9), (0.1, 0.2), band=(0.5, None)), **cases}, scale) == "not reproduced"
        assert judge(claim_id, {**_values((0.1, 0.2), (0.4, 0.6), band=(0.5, None)), **cases}, scale) == "inconclusive"
        return
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


def test_adding_a_claim_to_an_existing_analysis_touches_the_registry_alone(repo, tmp_path):
    """The README's "Adding a claim", done: a throwaway claim XZ.9 on XZ.1's analysis, entered in
    the registry of a copy of the checkout, is planned by the DAG (its analysis and the table)."""
    for name in ("Snakefile", "config.yaml", "src", "workflow", "notebooks", "reference", "profiles"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    registry = tmp_path / "src" / "deeplimits" / "registry.py"
    text = registry.read_text()
    text = text.replace('"pieces": f"{XZ}/xz1/pieces.csv"}', '"pieces": f"{XZ}/xz1/pieces.csv", "claim_xz9": f"{XZ}/xz1/claim_xz9.json"}')
    text = text.replace("]}\n\n\ndef claim_of", '    _c("XZ.9", XZ, "a throwaway claim", "ours", "xz1", output="claim_xz9"),\n]}\n\n\ndef claim_of')
    assert "claim_xz9" in text and '"XZ.9"' in text
    registry.write_text(text)
    target = "results/smoke/replication/claims.csv"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--config", "scale=smoke",
                           "--", target], cwd=tmp_path, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "results/smoke/xu_zhang/xz1/claim_xz9.json" in out
