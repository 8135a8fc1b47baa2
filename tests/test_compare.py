"""compare: hand-made claim files with known differences, every kind of input, the gate."""

import json
import shutil
import subprocess
import sys
import tarfile

import pytest

from deeplimits.compare import compare, failed, load_replication, to_markdown
from deeplimits.uncertainty import exact, measure


def _claim(root, claim, label="", verdict="reproduced", scale="smoke", numbers=()):
    """A claim file with numbers (name, value, lo, hi); lo == hi: deterministic."""
    measures = [measure(n, v, exact(v) if lo == hi else (lo, hi, "Student-t over independent draws (n = 5)"),
                        None, None).as_dict() for n, v, lo, hi in numbers]
    path = root / claim.lower().replace(".", "") / (label or "main") / "claim.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"claim": claim, "label": label, "scale": scale, "verdict": verdict,
                                "values": {"measures": measures}}))
    return path


def _run(tmp_path, name, **changes):
    root = tmp_path / name / "results" / "smoke"
    numbers = {"HZ.1": [("slope", -1.2, -1.25, -1.15)], "TvG.1": [("order", 1.01, 1.01, 1.01)]}
    numbers.update(changes.pop("numbers", {}))
    verdicts = changes.pop("verdicts", {})
    for claim, nums in numbers.items():
        if nums is not None:
            _claim(root, claim, verdict=verdicts.get(claim, "reproduced"), numbers=nums, **changes)
    return root


def _flags(table):
    return {(r.claim, r.number): r.flag for r in table.itertuples() if r.flag}


def test_identical_runs_flag_nothing(tmp_path):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b")
    table = compare(load_replication(a), load_replication(b))
    assert _flags(table) == {} and not failed(table, "moved")
    assert "Nothing moved." in to_markdown(table, load_replication(a), load_replication(b))


def test_a_number_moved_inside_its_interval_is_not_flagged_beyond_it_is(tmp_path):
    a = load_replication(_run(tmp_path, "a"))
    inside = load_replication(_run(tmp_path, "b", numbers={"HZ.1": [("slope", -1.18, -1.23, -1.13)]}))
    assert _flags(compare(a, inside)) == {}
    beyond = load_replication(_run(tmp_path, "c", numbers={"HZ.1": [("slope", -1.05, -1.10, -1.00)]}))
    table = compare(a, beyond)
    assert _flags(table) == {("HZ.1", "slope"): "moved"}
    assert table.set_index("number").loc["slope", "why"] == "the 95% intervals do not overlap"
    assert failed(table, "moved") and not failed(table, "verdict")


def test_a_verdict_flip_is_flagged(tmp_path):
    a = load_replication(_run(tmp_path, "a"))
    b = load_replication(_run(tmp_path, "b", verdicts={"TvG.1": "inconclusive"}))
    table = compare(a, b)
    assert _flags(table) == {("TvG.1", ""): "verdict"} and failed(table, "verdict")
    md = to_markdown(table, a, b)
    assert "1 verdicts changed" in md and "reproduced -> inconclusive" in md


def test_a_claim_or_number_on_one_side_only(tmp_path):
    a = load_replication(_run(tmp_path, "a"))
    b = load_replication(_run(tmp_path, "b", numbers={"TvG.1": None, "HZ.1": [("slope", -1.2, -1.25, -1.15),
                                                                            ("new", 1.0, 0.9, 1.1)]}))
    assert _flags(compare(a, b)) == {("TvG.1", ""): "only in A", ("HZ.1", "new"): "only in B"}


@pytest.mark.parametrize("value, flagged", [(1.01 * (1 + 1e-7), False), (1.01 * (1 + 1e-6), False),
                                            (1.01 * (1 + 3e-6), True)])
def test_a_deterministic_number_against_its_relative_tolerance(tmp_path, value, flagged):
    a = load_replication(_run(tmp_path, "a"))
    b = load_replication(_run(tmp_path, "b", numbers={"TvG.1": [("order", value, value, value)]}))
    assert bool(_flags(compare(a, b, rtol=1e-6))) is flagged


def test_exact_mode_compares_every_number_by_its_tolerance(tmp_path):
    a = load_replication(_run(tmp_path, "a"))
    b = load_replication(_run(tmp_path, "b", numbers={"HZ.1": [("slope", -1.2001, -1.2501, -1.1501)]}))
    assert _flags(compare(a, b)) == {}
    assert _flags(compare(a, b, exact=True)) == {("HZ.1", "slope"): "moved"}


def test_a_scale_mismatch_and_a_damaged_file_are_refused(tmp_path):
    a = load_replication(_run(tmp_path, "a"))
    quick = load_replication(_run(tmp_path, "q", scale="quick"))
    with pytest.raises(ValueError, match="scale 'smoke'.*scale 'quick'"):
        compare(a, quick)
    broken = _run(tmp_path, "b")
    claim = next(broken.rglob("claim.json"))
    claim.write_text(claim.read_text()[:40])
    with pytest.raises(ValueError, match=f"damaged or half-written claim file {claim}"):
        load_replication(broken)


def test_a_bundle_and_a_snapshot_are_inputs_too(tmp_path):
    from deeplimits.snapshot import make_snapshot

    a = _run(tmp_path, "a", numbers={"HZ.1": [("slope", -1.05, -1.10, -1.00)]})
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(a, arcname="results/smoke")
    snap = tmp_path / "snapshot"
    make_snapshot(_run(tmp_path, "b"), ["hz1", "tvg1"], snap)
    table = compare(load_replication(archive, tmp_path / "unpacked"), load_replication(snap))
    assert _flags(table) == {("HZ.1", "slope"): "moved"}


def test_the_command_prints_markdown_and_fails_on_request(tmp_path):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b", verdicts={"HZ.1": "not reproduced"})
    base = [sys.executable, "-m", "deeplimits", "compare", str(a), str(b)]
    ok = subprocess.run(base, capture_output=True, text=True)
    assert ok.returncode == 0 and "| HZ.1 |" in ok.stdout
    gate = subprocess.run([*base, "--fail-on", "verdict"], capture_output=True, text=True)
    assert gate.returncode == 1 and "rows flagged" in gate.stderr + gate.stdout
    as_json = subprocess.run([*base, "--format", "json", "--all"], capture_output=True, text=True)
    assert len(json.loads(as_json.stdout)["rows"]) == 4
    missing = subprocess.run([*base[:-1], str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 1 and "does not exist" in missing.stderr + missing.stdout
    shutil.rmtree(tmp_path / "a")


def test_the_gate_fails_on_a_smoke_number_moved_by_one_standard_deviation(repo, tmp_path):
    """The committed smoke reference against a copy with one number moved by one standard
    deviation of its draws (recovered from its Student-t interval): the exact gate fails."""
    import math

    from scipy import stats

    reference = repo / "artifacts" / "smoke-reference"
    moved = tmp_path / "moved"
    shutil.copytree(reference, moved)
    for path in sorted(moved.rglob("claim*.json")):
        record = json.loads(path.read_text())
        drawn = [m for m in record["values"]["measures"] if m["method"].startswith("Student-t")
                 and math.isfinite(m["lo"]) and m["hi"] > m["lo"]]
        if drawn:
            m = drawn[0]
            n = int(m["method"].split("n = ")[1].split(")")[0].split(",")[0])
            sd = (m["hi"] - m["lo"]) / 2 / stats.t.ppf(0.975, n - 1) * math.sqrt(n)
            m["value"] += sd
            path.write_text(json.dumps(record))
            break
    else:
        pytest.fail("no number with draws in the smoke reference")
    table = compare(load_replication(reference), load_replication(moved), exact=True)
    assert _flags(table) == {(record["claim"], m["name"]): "moved"} and failed(table, "moved")
    assert not failed(compare(load_replication(reference), load_replication(reference), exact=True), "moved")


def test_the_docs_example_is_what_the_command_writes(repo):
    """docs/compare-example.md: the quick run before and after the judging machinery
    (artifacts/compare-example, checksummed claim files), as `compare` writes it."""
    from deeplimits.compare import write_comparison
    from deeplimits.snapshot import verify_snapshot

    before, after = (f"artifacts/compare-example/{side}" for side in ("before", "after"))
    for side in (before, after):
        verify_snapshot(repo / side)
    import os

    here = os.getcwd()
    os.chdir(repo)
    try:
        a, b = load_replication(before), load_replication(after)
        text = write_comparison(compare(a, b), a, b, "md", None)
    finally:
        os.chdir(here)
    assert (repo / "docs" / "compare-example.md").read_text() == text, (
        "stale: python -m deeplimits compare artifacts/compare-example/before artifacts/compare-example/after "
        "--out docs/compare-example.md")
    assert "verdicts changed" in text
