"""The results snapshot: copied text files with a manifest that refuses a changed byte."""

import json

import pytest

from deeplimits.snapshot import make_snapshot, verify_snapshot


def _results(root):
    (root / "paper" / "train" / "crx4" / "L3").mkdir(parents=True)
    (root / "paper" / "train" / "crx4" / "L3" / "provenance.json").write_text(json.dumps({"wall_time_s": 2.5}))
    (root / "paper" / "train" / "crx4" / "L3" / "weights.pt").write_bytes(b"\0" * 10)
    claim = root / "paper" / "crx4" / "claim.json"
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"claim": "CRX.4", "verdict": "not reproduced"}))
    (root / "paper" / "crx4" / "betas.csv").write_text("model,beta\ntanh,0.41\n")
    return root / "paper"


def test_snapshot_copies_text_with_checksums_and_verifies(tmp_path):
    scale = _results(tmp_path / "results")
    out = tmp_path / "artifacts"
    manifest = make_snapshot(scale, ["crx4", "train"], out, note="test")
    assert sorted(manifest["files"]) == ["crx4/betas.csv", "crx4/claim.json", "train/crx4/L3/provenance.json"]
    assert manifest["training_cells"] == 1 and manifest["training_wall_time_s"] == 2.5
    assert not (out / "train" / "crx4" / "L3" / "weights.pt").exists()  # no weights
    assert verify_snapshot(out)["note"] == "test"


def test_a_sensitivity_rerun_carries_its_claim_file_alone(tmp_path):
    scale = _results(tmp_path / "results")
    (scale / "crx4" / "sensitivity.csv").write_text("choice,value,measured\ns0,1,0.5\n")
    rerun = scale / "crx4" / "sensitivity" / "s0=1"
    rerun.mkdir(parents=True)
    (rerun / "claim.json").write_text(json.dumps({"claim": "CRX.4", "verdict": "reproduced"}))
    (rerun / "betas.csv").write_text("model,beta\ntanh,0.5\n")
    manifest = make_snapshot(scale, ["crx4"], tmp_path / "artifacts")
    assert sorted(manifest["files"]) == ["crx4/betas.csv", "crx4/claim.json", "crx4/sensitivity.csv",
                                         "crx4/sensitivity/s0=1/claim.json"]
    claims = make_snapshot(scale, ["crx4"], tmp_path / "claims", claims_only=True)
    assert sorted(claims["files"]) == ["crx4/claim.json"]


@pytest.mark.parametrize("damage, message", [
    (lambda out: (out / "crx4" / "betas.csv").write_text("model,beta\ntanh,0.21\n"), "betas.csv differs"),
    (lambda out: (out / "crx4" / "claim.json").unlink(), "claim.json is listed"),
    (lambda out: (out / "crx4" / "extra.csv").write_text("x\n"), "extra.csv is not in"),
])
def test_a_changed_missing_or_extra_file_is_refused_by_name(tmp_path, damage, message):
    out = tmp_path / "artifacts"
    make_snapshot(_results(tmp_path / "results"), ["crx4"], out)
    damage(out)
    with pytest.raises(ValueError, match=message):
        verify_snapshot(out)


def test_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make_snapshot(tmp_path, ["nowhere"], tmp_path / "out")


def test_the_committed_paper_snapshot_matches_its_manifest(repo):
    out = repo / "artifacts" / "paper-cpu"
    manifest = verify_snapshot(out)
    claim = json.loads((out / "cont_rossier_xu" / "crx4" / "ode" / "claim.json").read_text())
    assert claim["scale"] == "paper" and claim["interval"] and claim["interval_method"]
    from deeplimits.snapshot import MAX_BYTES

    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < MAX_BYTES
    assert manifest["files"]


def test_the_committed_paper_snapshot_renders_with_no_data_or_training_job_planned(repo, tmp_path):
    """`make figures SCALE=paper` from a fresh clone: the snapshot restored into an empty
    results folder plans only the figure rules; every verdict in it is the judge of its values."""
    from deeplimits.judges import judge
    from deeplimits.snapshot import restore_snapshot

    from .test_workflow import FIGURE_RULES, dry

    out = repo / "artifacts" / "paper-cpu"
    restore_snapshot(out, tmp_path / "results" / "paper")
    from deeplimits.claims import EARLIER
    from deeplimits.registry import CLAIMS

    earlier = set()
    for f in (tmp_path / "results" / "paper").rglob("claim*.json"):
        rec = json.loads(f.read_text())
        if rec.get("design", EARLIER) == CLAIMS[rec["claim"]].design:
            assert rec["verdict"] == judge(rec["claim"], rec["values"], "paper"), f
        else:  # a row the snapshot ran with an earlier design: its table row says so (below)
            earlier.add(rec["claim"])
    jobs = dry(repo, tmp_path, "--config", "scale=paper", "cpu_only=true", "figures_only=true",
               "--allowed-rules", *FIGURE_RULES, "compare_snapshot", "--forcerun", "notebook", "claims_table_cpu",
               "--", "figures")
    # The figures of a paper-scale CPU run include its comparison with the snapshot.
    assert set(jobs) == {"notebook", "claims_table_cpu", "compare_snapshot", "figures"}, jobs
    from deeplimits.claims import build_table

    table = build_table(sorted((tmp_path / "results" / "paper").rglob("claim*.json")), "paper", tmp_path / "t.csv",
                        tmp_path / "t.md").set_index("claim")
    assert earlier == {c for c in table.index if "ran the design of" in str(table.loc[c, "note"])}
