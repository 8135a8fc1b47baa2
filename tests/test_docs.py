"""The docs: every generated page is what its files generate, no hand-written page types a
number, the status page and the benchmark page read every number from their records, and the
site's navigation lists every page."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from deeplimits.benchmarks import benchmarks_page, write_bench_record
from deeplimits.docs import GENERATED, GENERATED_ELSEWHERE, hand_written_pages, status_page, typed_numbers
from deeplimits.provenance import run_record


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_every_generated_page_is_up_to_date(repo, page):
    assert (repo / page).read_text() == GENERATED[page](), f"{page} is stale: run python -m deeplimits docs"


def test_no_number_is_typed_into_the_readme_or_a_hand_written_page(repo):
    pages = hand_written_pages(repo)
    assert repo / "README.md" in pages and repo / "docs" / "design.md" in pages
    assert repo / "docs" / "status.md" not in pages
    typed = [f"{p.relative_to(repo)}:{n}: {line}" for p in pages for n, line in typed_numbers(p.read_text())]
    assert not typed, "numbers typed by hand (generate them, or put code in backticks):\n" + "\n".join(typed)


@pytest.mark.parametrize("line", [
    "HZ.1 and TvG.5 follow rules R1-R7.", "on float32 and x86_64 with an H100", "CIFAR-10, SHA-256",
    "Huang & Zhang (2023) and (2022/23), ICML 2021", "1. the analysis", "run `make test` in `results/quick/L100`",
    "see [the cards](docs/claim-2.md)", "<!-- 42 -->", "    make replicate  # 7 minutes", "an L2 distance",
])
def test_allowed_digits_are_not_typed_numbers(line):
    assert typed_numbers(line) == []


@pytest.mark.parametrize("line", [
    "The quick run takes 7 minutes.", "a 95% interval", "slope -1.199 at alpha 0.2", "commit e247b38 of today",
    "HZ.1 reproduced: 3 of 5", "measured 2026-12-01",
])
def test_typed_numbers_are_found(line):
    assert typed_numbers("intro\n" + line) == [(2, line)]


def test_fenced_code_is_not_prose():
    assert typed_numbers("```\nx = 3\n```\nno digits") == []
    assert typed_numbers("```\nx = 3\n```\n4 digits") == [(4, "4 digits")]


def test_the_site_navigation_lists_every_page(repo):
    nav = yaml.safe_load((repo / "mkdocs.yml").read_text())["nav"]
    listed = {page for entry in nav for page in entry.values()}
    assert listed == {p.name for p in (repo / "docs").glob("*.md")}
    assert {f"docs/{p}" for p in listed} >= set(GENERATED) | set(GENERATED_ELSEWHERE)


def _snapshot(root, beta):
    (root / "replication").mkdir(parents=True)
    (root / "MANIFEST.json").write_text(json.dumps({
        "commit": "abc123", "machine": "Linux-test", "processor": "x86_64", "versions": {"torch": "9.9"},
        "training_cells": 7, "training_wall_time_s": 7200.0, "files": {"a": 1}, "note": "a hand-made snapshot"}))
    (root / "replication" / "claims_cpu.csv").write_text(
        "claim,verdict,measured,target,tolerance\nCRX.2,reproduced,beta = x,beta = 0.5,+-0.05\n")
    claim = {"claim": "CRX.2", "design": "2026-12-05", "label": "", "values": {"measures": [
        {"name": "beta", "value": beta, "lo": beta - 0.01, "hi": beta + 0.01, "band_lo": 0.45, "band_hi": 0.55,
         "verdict": "reproduced"},
        {"name": "control beta", "role": "control", "value": 1.0, "lo": 0.9, "hi": 1.1, "band_lo": 0.8,
         "verdict": "reproduced"},
        {"name": "other beta", "role": "reported", "value": 2.0, "lo": 1.9, "hi": 2.1, "verdict": "reproduced"}]}}
    (root / "crx2").mkdir()
    (root / "crx2" / "claim.json").write_text(json.dumps(claim))
    run = root / "crx2" / "sensitivity" / "lr=2"
    run.mkdir(parents=True)
    (run / "claim.json").write_text(json.dumps({**claim, "values": {"measures": [
        {"name": "beta", "value": 0.7, "lo": 0.69, "hi": 0.71, "verdict": "not reproduced"}]}}))
    return root


def test_the_status_page_reads_every_number_from_its_files(tmp_path):
    snapshot = _snapshot(tmp_path / "snap", beta=0.4912345)
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "quick.json").write_text(json.dumps({
        "scale": "quick", "started": "2026-12-05T10:00:00", "span_s": 480, "jobs": 3, "training_cells": 2,
        "training_wall_time_s": 61.0, "git_commit": "def456", "cpu_model": "Test CPU", "cores": 2,
        "versions": {"torch": "9.9"}, "jobs_per_stage": {"train": 2, "analysis": 1},
        "seconds_per_stage": {"train": 61.0, "analysis": 5.0}}))
    page = status_page(snapshot, runs)
    assert "2.0 hours of training" in page and "7 training cells" in page and "a hand-made snapshot" in page
    assert "| CRX.2 | reproduced | beta = x | beta = 0.5 | +-0.05 | current |" in page
    assert "| CRX.2 |  | beta | treated | 0.4912 | [0.4812, 0.5012] | [0.45, 0.55] | reproduced |" in page
    assert "| CRX.2 |  | control beta | control | 1 | [0.9, 1.1] | [0.8, inf] | fails as required |" in page
    assert "| CRX.2 |  | other beta | reported | 2 | [1.9, 2.1] |  | reported |" in page
    assert "| lr=2 | beta | 0.7 | [0.69, 0.71] | not reproduced |" in page
    assert "| quick | 2026-12-05T10:00:00 | 8.0 min | 3 | 2 | 61 s | `def456` | Test CPU, 2 cores, torch 9.9 |" in page
    assert "2 jobs, 61 s" in page
    assert "HZ.1" in page.split("Not in the snapshot:")[1]
    other = status_page(_snapshot(tmp_path / "other", beta=0.3), runs)
    assert "| 0.3 | [0.29, 0.31]" in other and "0.4912" not in other


def test_a_run_record_spans_its_jobs_from_the_logs(tmp_path):
    logs = tmp_path / "logs"
    (logs / "train").mkdir(parents=True)
    (logs / "train" / "a.log").write_text("2026-12-05 10:00:10,500 INFO deeplimits: train done in 10.0 s\n")
    (logs / "b.log").write_text("2026-12-05 10:00:02,000 INFO deeplimits.cells: trained\n"
                                "2026-12-05 10:00:30,000 INFO deeplimits: analysis done in 5.0 s\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "provenance.json").write_text(json.dumps({
        "config": {"scale": "smoke"}, "training_cells": {"x": {}, "y": {}}, "training_wall_time_s": 9.5,
        "git_commit": "abc", "device": "cpu", "versions": {"torch": "9.9"}}))
    record = run_record(results, logs)
    assert record["span_s"] == 30 and record["started"] == "2026-12-05T10:00:00"
    assert record["jobs"] == 2 and record["jobs_per_stage"] == {"train": 1, "analysis": 1}
    assert record["seconds_per_stage"] == {"train": 10.0, "analysis": 5.0} and record["training_cells"] == 2
    with pytest.raises(ValueError, match="no '<command> done in X s' line"):
        run_record(results, tmp_path / "results")


def test_the_claim_cards_give_each_claims_recorded_result(repo, tmp_path):
    """A recorded run's table rows reach the cards: verdict, measured and note per claim."""
    from deeplimits.docs import claim_cards_page

    logs, results = tmp_path / "logs", tmp_path / "results"
    logs.mkdir()
    (logs / "a.log").write_text("2026-12-05 10:00:10,500 INFO deeplimits: train done in 10.0 s\n")
    (results / "replication").mkdir(parents=True)
    (results / "provenance.json").write_text(json.dumps({
        "config": {"scale": "quick"}, "training_cells": {}, "training_wall_time_s": 1.0,
        "git_commit": "abcdef1234", "device": "cpu", "versions": {"torch": "9.9"}}))
    pd.DataFrame([{"claim": "TvG.5", "verdict": "not reproduced", "measured": "slope -0.54", "interval": "",
                   "note": "spikes at a few layers"}]).to_csv(results / "replication" / "claims.csv", index=False)
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "quick.json").write_text(json.dumps(run_record(results, logs)))
    page = claim_cards_page(repo / "config.yaml", runs)
    card = page.split("## TvG.5")[1].split("## TvG.6")[0]
    assert "recorded quick run (commit `abcdef1234`" in card and "**not reproduced**" in card
    assert "Measured: slope -0.54. Note: spikes at a few layers" in card
    assert "recorded quick run" not in page.split("## TvG.5")[0]  # no row, no line


def test_the_claim_cards_give_each_claims_row_in_the_paper_snapshot(repo, tmp_path):
    """The snapshot's table reaches the cards: verdict, measured and note; a claim the CPU table
    leaves out says why; a claim missing from the table says it is not in the snapshot."""
    from deeplimits.docs import claim_cards_page

    snapshot = tmp_path / "paper-cpu"
    (snapshot / "replication").mkdir(parents=True)
    (snapshot / "MANIFEST.json").write_text(json.dumps({"commit": "0123456789abcdef", "processor": "x86_64"}))
    pd.DataFrame([
        {"claim": "CRX.4", "verdict": "not reproduced", "measured": "beta = 0.705", "note": "stops: plateau 62"},
        {"claim": "HZ.2", "verdict": "not run", "measured": "", "note": "its paper scale needs a GPU"},
    ]).to_csv(snapshot / "replication" / "claims_cpu.csv", index=False)
    (snapshot / "crx4").mkdir()
    (snapshot / "crx4" / "claim.json").write_text(json.dumps({"claim": "CRX.4", "label": "ode", "values": {"measures": [
        {"name": "beta relu", "value": 0.705, "lo": 0.66, "hi": 0.77, "band_lo": 0.4, "band_hi": 0.6,
         "verdict": "not reproduced"},
        {"name": "beta tanh", "value": 0.2, "lo": 0.19, "hi": 0.21, "band_lo": 0.1, "band_hi": 0.3, "verdict": "reproduced"},
        {"name": "beta sigmoid", "role": "reported", "value": 9.0, "verdict": "not reproduced"}]}}))
    page = claim_cards_page(repo / "config.yaml", tmp_path / "no-runs", snapshot)
    card = page.split("## CRX.4\n")[1].split("\n## ")[0]
    assert "paper-scale snapshot `artifacts/paper-cpu` (commit `0123456789ab`, x86_64): **not reproduced**. " \
           "Measured: beta = 0.705. Note: stops: plateau 62. Why: [ode] beta relu (treated) = 0.705, interval " \
           "[0.66, 0.77], outside its band [0.4, 0.6].\n" in card  # the passing and the reported numbers are not named
    assert "**not run** (its paper scale needs a GPU)" in page.split("## HZ.2\n")[1].split("\n## ")[0]
    assert "Not in the paper-scale snapshot" in page.split("## TvG.6\n")[1]
    without = claim_cards_page(repo / "config.yaml", tmp_path / "no-runs", tmp_path / "none")
    assert "Its result in the paper-scale snapshot" not in without and "Not in the paper-scale" not in without


def test_a_benchmark_record_is_rendered_whole(tmp_path):
    write_bench_record("cpu_crossover", ["d", "ms"], [[8, 1.25], [16, 2.5]], {"worst_slowdown": 1.18},
                       device="cpu", options=[], out_dir=tmp_path)
    page = benchmarks_page(tmp_path)
    assert "| d | ms |" in page and "| 8 | 1.25 |" in page and "`worst_slowdown=1.18`" in page
    assert "Not yet recorded: `train_throughput`, `pvariation_speed`." in page
    with pytest.raises(ValueError, match="has 1 cells for 2 columns"):
        write_bench_record("cpu_crossover", ["d", "ms"], [[8]], {}, device="cpu", options=[], out_dir=tmp_path)
    with pytest.raises(KeyError, match="no description"):
        write_bench_record("made_up", ["d"], [], {}, device="cpu", options=[], out_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("script, args", [("pvariation_speed.py", ["--quick"]), ("train_throughput.py", ["--dry"])])
def test_the_bench_scripts_write_their_records(repo, tmp_path, script, args):
    env = dict(os.environ, PYTHONPATH=str(repo / "src"))
    proc = subprocess.run([sys.executable, str(repo / "bench" / script), *args, "--record", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / f"{script[:-3]}.json").read_text())
    assert record["rows"] and all(len(r) == len(record["columns"]) for r in record["rows"])
    assert record["commit"] and record["date"] and record["threads"] >= 1


def test_the_status_page_names_the_parts_that_ran_an_earlier_design():
    from deeplimits.docs import _design_words

    assert _design_words([("digits", "2026-12-05"), ("fashion_mnist", "2026-12-05")], "2026-12-05") == "current"
    assert _design_words([("digits", "2026-12-01"), ("fashion_mnist", "2026-12-05")], "2026-12-05") == \
        "earlier (digits): ran 2026-12-01, card 2026-12-05"
    assert _design_words([("", "2026-12-01")], "2026-12-05") == "earlier: ran 2026-12-01, card 2026-12-05"
    assert _design_words([], "2026-12-05") == ""
