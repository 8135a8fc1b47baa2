"""The pipeline through the snakemake CLI: dry runs, lint, a full smoke run, partial reruns."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from deeplimits.experiments import crx4_depths
from deeplimits.judges import judge
from deeplimits.registry import CLAIMS, PAPERS
from deeplimits.uncertainty import METHODS

pytestmark = pytest.mark.workflow


def snakemake(repo, workdir, *args, configfile=None, check=True):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(configfile or repo / "config.yaml"),
           "--cores", "2", *args]
    # Every figure the run saves is linted strictly (figures.lint_figure): a legend over data fails it.
    env = {**os.environ, "DEEPLIMITS_FIGURE_LINT": "strict"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    jobs, inside = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            inside = True
            continue
        if inside:
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m and m.group(1) != "total":
                jobs[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return jobs


def dry(repo, workdir, *args, configfile=None):
    proc = snakemake(repo, workdir, "-n", *args, configfile=configfile)
    return planned_jobs(proc.stdout + proc.stderr)


@pytest.mark.parametrize("scale", ["smoke", "quick", "paper"])
def test_dry_run_of_every_scale(repo, tmp_path, scale):
    jobs = dry(repo, tmp_path, "--config", f"scale={scale}")
    assert jobs["train"] >= 2 and jobs["claims_table"] == 1 and jobs["notebook"] == 4
    if scale == "paper":
        assert jobs.get("download_data", 0) >= 1  # CIFAR-10 and Fashion-MNIST are downloaded
    else:
        assert "download_data" not in jobs  # smoke and quick are offline


def test_cpu_claims_at_paper_scale_train_only_the_small_problems(repo, tmp_path):
    paper = yaml.safe_load((repo / "config.yaml").read_text())["experiments"]
    jobs = dry(repo, tmp_path, "cpu_claims", "--config", "scale=paper")
    # CRX.1-CRX.3 train their small full-batch problems, CRX.4 its ODE cells (2 models x
    # the depth grid) and XZ.4 its plain ReLU nets on Fashion-MNIST; no conv net, no
    # CIFAR-10 or MNIST, no MNIST features.
    n_xz4 = len(paper["xz34"]["depths"]) * len(paper["xz34"]["inits"]) * len(paper["xz34"]["lrs"])
    crx4 = paper["crx4"] | paper["crx4"]["paper"]
    grid = crx4_depths(crx4)
    # CRX.4's sensitivity runs: the whole grid per declared value, `stopping=none` to its own limit.
    n_sensitivity = sum(len([d for d in grid if d <= crx4["sensitivity_max_depth"].get(f"{c}={v}", 10**9)])
                        for c, values in crx4["sensitivity"].items() for v in values)
    # CRX.1: its depths and its control's, once more per declared choice of targets.
    n_crx1 = (len(paper["crx1"]["depths"]) + len(paper["crx1"]["control_depths"])) * (
        1 + len(paper["crx1"]["sensitivity"]["targets"]))
    n_crx3 = len(paper["crx3"]["inits"]) * len(paper["crx3"]["depths"])
    assert jobs["train"] == n_crx1 + n_crx3 + 2 * (len(grid) + n_sensitivity) + n_xz4
    assert jobs["crx4_sensitivity_run"] == 5 + 1  # one per declared value, and the main setting to 1020
    assert jobs["sensitivity"] == 3  # CRX.1, CRX.4 [ode] and XZ.2 (TvG's leaves its paper scale out: cost)
    assert jobs["download_data"] == 1  # Fashion-MNIST (TvG, XZ.4), from the Debian mirror when present
    assert jobs["claims_table_cpu"] == 1 and "claims_table" not in jobs
    assert jobs["crx4"] == 1  # the ODE part only
    # HZ.1 at the authors' size for their alpha only (over an hour on 2 cores per alpha: docs/status.md).
    assert jobs["hz1_increments"] == 1 and jobs["hz1_reference_alpha"] == 1
    assert "hz1" not in jobs
    assert {"xz1", "xz2", "xz34",
            "tvg_solve"} <= set(jobs)
    assert not {"hz2", "hz4"} & set(jobs)


def test_lint_is_clean(repo, tmp_path):
    proc = snakemake(repo, tmp_path, "--lint", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Congratulations, your workflow is in a good condition" in out, out


def test_bad_config_stops_before_any_job_and_names_the_key(repo, tmp_path):
    proc = snakemake(repo, tmp_path, "-n", "--config", "scale=huge", check=False)
    assert proc.returncode != 0
    assert "config key 'scale'" in proc.stderr + proc.stdout and "smoke, quick, paper" in proc.stderr + proc.stdout


def test_one_output_file_builds_only_what_it_needs(repo, tmp_path):
    alphas = yaml.safe_load((repo / "config.yaml").read_text())["experiments"]["hz1"]["alphas"]
    jobs = dry(repo, tmp_path, "--config", "scale=smoke", "--", "results/smoke/huang_zhang/hz1/claim.json")
    assert jobs == {"generate_data": 1, "hz1_increments": len(alphas), "hz1": 1}


def test_until_stops_at_the_data_stage(repo, tmp_path):
    jobs = dry(repo, tmp_path, "--config", "scale=smoke", "--until", "generate_data")
    assert set(jobs) == {"generate_data"}


# README, "Adding a claim": a throwaway claim XZ.9 on XZ.2's increments is its analysis (a new
# module) and two registry entries, in a copy of the checkout; no .smk file, no other edit.
THROWAWAY = "XZ.9"
THROWAWAY_ANALYSIS = '''"""A throwaway claim (tests/test_workflow.py): XZ.2's largest increment at its deepest n."""
import pandas as pd

from ..claims import write_claim
from ..uncertainty import exact, measure


def xz9(settings, inputs, outputs, *, scale, seed=0, label="", device="cpu"):
    inc = pd.read_csv(inputs["increments"])
    last = float(inc[inc.n == inc.n.max()].increment.max())
    write_claim(outputs, "claim", "XZ.9", scale=scale, measured=f"largest last increment {last:.3g}",
                target="non-negative", tolerance="none", measures=[measure("last", last, exact(last), 0.0, None)])
'''
THROWAWAY_ENTRIES = '''
ANALYSES["xz9"] = Analysis("xz9", XZ, "xz2", "throwaway:xz9", {"claim": f"{XZ}/xz9/claim.json"},
                           inputs={"increments": Output("xz2", "increments")})
CLAIMS["XZ.9"] = Claim("XZ.9", XZ, "a throwaway claim", "ours", "xz9")
'''


def checkout_with_a_throwaway_claim(repo, dest):
    for name in ("Snakefile", "config.yaml", "src", "workflow", "notebooks", "reference", "profiles", "envs"):
        src = repo / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dest / name)
    package = dest / "src" / "deeplimits"
    (package / "analysis" / "throwaway.py").write_text(THROWAWAY_ANALYSIS)
    registry = package / "registry.py"
    registry.write_text(registry.read_text() + THROWAWAY_ENTRIES)
    return dest


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, request):
    """The smoke DAG, run once for this module, in a checkout with the throwaway claim."""
    repo = checkout_with_a_throwaway_claim(request.config.rootpath, tmp_path_factory.mktemp("checkout"))
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(repo, workdir, "--config", "scale=smoke", "progress=false")
    return repo, workdir


# The scientific regression gate: the smoke run equals the committed reference (make
# smoke-reference) to GATE_RTOL, verdict for verdict. On the processor that made the reference
# the comparison is exact (same seeds, same code: two runs here agree to the last digit);
# elsewhere vectorised sums may round differently, so it is the judged one (verdicts equal,
# intervals overlapping), and says so.
GATE_RTOL = 1e-6


def test_the_smoke_run_reproduces_the_committed_reference(smoke_run, request):
    from deeplimits.compare import compare, failed, load_replication, to_markdown
    from deeplimits.provenance import cpu_model
    from deeplimits.snapshot import verify_snapshot

    repo, workdir = smoke_run
    reference_dir = request.config.rootpath / "artifacts" / "smoke-reference"
    verify_snapshot(reference_dir)  # checksummed: a hand edit of the reference is refused
    reference = load_replication(reference_dir)
    run = load_replication(workdir / "results" / "smoke")
    same_processor = json.loads((reference_dir / "MANIFEST.json").read_text())["cpu_model"] == cpu_model()
    table = compare(reference, run, rtol=GATE_RTOL, exact=same_processor)
    table = table[table.claim != THROWAWAY]
    assert set(reference.parts) == {k for k in run.parts if k[0] != THROWAWAY}
    if failed(table, "moved"):
        pytest.fail(f"the smoke run moved from artifacts/smoke-reference ({'exact' if same_processor else 'judged'} "
                    f"comparison; after an intended change: make smoke-reference):\n"
                    + to_markdown(table, reference, run))


def test_a_claim_added_to_the_registry_alone_runs_and_is_in_the_table(smoke_run):
    repo, workdir = smoke_run
    table = pd.read_csv(workdir / "results" / "smoke" / "replication" / "claims.csv").set_index("claim")
    row = table.loc[THROWAWAY]
    assert row.verdict == "reproduced" and row.measured.startswith("largest last increment"), row
    assert (workdir / "results" / "smoke" / "xu_zhang" / "xz9" / "claim.json").exists()


def test_smoke_run_produces_the_table_notebooks_and_report(smoke_run):
    repo, workdir = smoke_run
    root = workdir / "results" / "smoke"
    table = pd.read_csv(root / "replication" / "claims.csv")
    assert list(table.claim) == [*CLAIMS, THROWAWAY]
    ran = table[table.verdict != "not run"]
    assert {"HZ.1", "HZ.2", "HZ.3", "HZ.4", "XZ.1", "XZ.2", "XZ.3", "XZ.4", "CRX.1", "CRX.2", "CRX.3", "CRX.4",
            "TvG.1", "TvG.2", "TvG.3", "TvG.4", "TvG.5"} <= set(ran.claim)
    assert set(table.provenance) <= {"published", "reconstructed", "ours"}
    # Every part of a TvG claim carries its dataset (the label that merges datasets into one row).
    for name in ("tvg/claim_tvg1.json", "tvg/claim_tvg2.json", "tvg3/claim.json", "tvg/claim_tvg4.json",
                 "tvg/claim_tvg5.json"):
        assert json.loads((root / "thorpe_van_gennip" / "two_moons" / name).read_text())["label"] == "two_moons"
    assert json.loads((root / "cont_rossier_xu" / "crx4" / "ode" / "claim.json").read_text())["label"] == "ode"
    # Every judged row has an interval and says how it was made; declared choices reach the note.
    judged = table[table.verdict.isin(["reproduced", "not reproduced", "inconclusive"])]
    assert len(judged) >= 10 and judged.interval.notna().all() and judged.interval_method.notna().all()
    sens = pd.read_csv(root / "cont_rossier_xu" / "crx4" / "ode" / "sensitivity.csv")
    assert list(sens.choice.unique()) == ["main setting", "s0"]
    assert "sensitive to" in table.set_index("claim").loc["CRX.4", "note"]
    assert (root / "xu_zhang" / "xz2" / "sensitivity" / "min_depth=64" / "claim.json").exists()
    executed = (root / "notebooks" / "huang_zhang.ipynb").read_text()
    assert "injected-parameters" in executed and "results/smoke" in executed
    # The injected parameters name no absolute path of this machine, so the notebook can be shared,
    # and every figure is shown inline under the cell that makes it.
    nb = json.loads(executed)
    injected = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    params = "".join(injected["source"])
    assert "/" + str(workdir).strip("/") not in params and str(repo) not in params and '"/' not in params
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5
    assert (root / "figures" / "huang_zhang" / "hz1_increments.png").stat().st_size > 10_000
    assert "HZ.1" in (root / "notebooks" / "huang_zhang.html").read_text()
    for log in ("huang_zhang/hz1.log", "train/hz2/digits/a0.2/L4.log", "notebooks/huang_zhang.log"):
        assert (workdir / "logs" / "smoke" / log).stat().st_size > 0
    report = workdir / "report.html"
    snakemake(repo, workdir, "--config", "scale=smoke", "--report", str(report))
    assert report.stat().st_size > 100_000
    # The report opens on the result: the verdict counts and the table, each claim linking its figures.
    page = report.read_text()
    assert "Replication table at scale" in page and "hz1_increments.png" in page
    assert str(workdir) not in page  # no machine path of the run's folder in the report


def test_every_written_verdict_is_the_pure_judge_of_its_values(smoke_run):
    repo, workdir = smoke_run
    root = workdir / "results" / "smoke"
    files = [f for f in root.rglob("claim*.json") if f.parent.name != "replication"]
    assert {json.loads(f.read_text())["claim"] for f in files} == {*CLAIMS, THROWAWAY}
    for f in files:
        rec = json.loads(f.read_text())
        # Every interval a claim file holds comes from a method whose coverage is simulated.
        for m in rec["values"]["measures"]:
            assert m["method"].startswith(METHODS), (f, m["method"])
        if rec["claim"] == THROWAWAY:  # registered in the copy only
            continue
        assert rec["verdict"] == judge(rec["claim"], rec["values"], "smoke"), f
        # Figures and tables come from the registry and name files that exist.
        for name in filter(None, rec["table"].split(", ")):
            assert (f.parent / name).exists(), (f, name)
        for name in filter(None, rec["figure"].split(", ")):
            assert (root / "figures" / rec["paper"] / name).exists(), (f, name)


def test_nothing_left_to_do_after_the_run(smoke_run):
    repo, workdir = smoke_run
    assert dry(repo, workdir, "--config", "scale=smoke") == {}


def test_changing_one_experiment_reruns_that_branch_only(smoke_run, tmp_path):
    repo, workdir = smoke_run
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    cfg["experiments"]["hz4"]["smoke"]["epochs"] = 2
    changed = tmp_path / "config.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    jobs = dry(repo, workdir, "--config", "scale=smoke", configfile=changed)
    n_hz4 = len(cfg["experiments"]["hz4"]["smoke"]["depths"]) * len(cfg["experiments"]["hz4"]["smoke"]["alphas"])
    assert jobs["train"] == n_hz4
    assert jobs["hz4"] == 1
    for untouched in ("hz1", "hz2", "hz3",
                      "crx1", "generate_data"):
        assert untouched not in jobs


def test_a_grown_grid_runs_only_its_new_jobs(smoke_run, tmp_path):
    # Another depth, another HZ.1 alpha and a looser margin: the trained cells and the
    # computed curves are kept (their jobs' settings leave the grid out).
    repo, workdir = smoke_run
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    xz4 = cfg["experiments"]["xz34"]
    xz4["smoke"].update(depths=[*xz4["smoke"]["depths"], 3], learning_margin=0.2)
    cfg["experiments"]["hz1"]["alphas"].append(0.3)
    changed = tmp_path / "config.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    jobs = dry(repo, workdir, "--config", "scale=smoke", configfile=changed)
    assert jobs["train"] == len(xz4["inits"]) * len(xz4["lrs"])
    assert jobs["hz1_increments"] == 1
    assert jobs["hz1"] == 1 and jobs["xz34"] == 1


def test_forced_rerun_of_one_rule_reruns_it_and_what_depends_on_it(smoke_run):
    repo, workdir = smoke_run
    jobs = dry(repo, workdir, "--config", "scale=smoke", "-R", "hz1")
    assert jobs["hz1"] == 1
    assert "train" not in jobs and "hz3" not in jobs
    assert jobs["claims_table"] == 1 and jobs["notebook"] == 1  # the Huang & Zhang notebook only


FIGURE_RULES = ["notebook", "claims_table", "figures"]


def test_figures_rebuild_from_a_bundle_without_training(smoke_run, tmp_path):
    from deeplimits.bundle import make_bundle, unpack_bundle

    repo, workdir = smoke_run
    archive = tmp_path / "bundle.tar.gz"
    import os

    here = os.getcwd()
    os.chdir(workdir)
    try:
        names = make_bundle("results/smoke", archive)
    finally:
        os.chdir(here)
    assert not any(n.endswith(("weights.pt", "checkpoint.pt")) or "/data/" in n for n in names)
    # Provenance of the training cells travels (JSON), their weights do not.
    assert any(n.endswith("provenance.json") and "/train/" in n for n in names)
    fresh = tmp_path / "colleague"
    unpack_bundle(archive, fresh)
    assert not list(fresh.rglob("weights.pt"))
    args = ["--config", "scale=smoke", "--allowed-rules", *FIGURE_RULES,
            "--forcerun", *FIGURE_RULES[:-1], "--", "figures"]
    jobs = dry(repo, fresh, *args)
    assert "train" not in jobs and "generate_data" not in jobs
    assert jobs["notebook"] == 4
    snakemake(repo, fresh, *args)
    assert (fresh / "results/smoke/figures/huang_zhang/hz4_grid.png").exists()


def test_a_cpu_only_snapshot_re_renders_without_any_data_or_training_job(smoke_run, tmp_path):
    """What `make figures SCALE=paper` does with artifacts/paper-cpu, at smoke scale: the CPU
    table's results are snapshot (text only), restored into a fresh folder and re-rendered
    (notebooks, table, report) by the figure rules alone; the table equals the snapshot's."""
    from deeplimits.snapshot import make_snapshot, restore_snapshot

    repo, workdir = smoke_run
    snakemake(repo, workdir, "--config", "scale=smoke", "progress=false", "cpu_only=true", "--", "figures")
    root = workdir / "results" / "smoke"
    snap = tmp_path / "snapshot"
    make_snapshot(root, [*PAPERS, "replication"], snap)
    fresh = tmp_path / "fresh"
    assert restore_snapshot(snap, fresh / "results" / "smoke")
    assert not list(fresh.rglob("*.pt"))
    args = ["--config", "scale=smoke", "progress=false", "cpu_only=true", "--allowed-rules", *FIGURE_RULES,
            "claims_table_cpu", "--forcerun", "notebook", "claims_table_cpu", "--", "figures"]
    jobs = dry(repo, fresh, *args)
    assert set(jobs) == {"notebook", "claims_table_cpu", "figures"}, jobs
    snakemake(repo, fresh, *args)
    before = pd.read_csv(snap / "replication" / "claims_cpu.csv")
    after = pd.read_csv(fresh / "results" / "smoke" / "replication" / "claims_cpu.csv")
    pd.testing.assert_frame_equal(before, after)
    # The HZ notebook shows the CPU part of HZ.1 and says which claims need a GPU.
    html = (fresh / "results" / "smoke" / "notebooks" / "huang_zhang.html").read_text()
    assert "not in these results" in html and "HZ.1" in html
    report = fresh / "report.html"
    snakemake(repo, fresh, *args[:-2], "--report", str(report), "--", "figures")
    assert "Replication table at scale" in report.read_text()
    # Results still being computed (XZ.1's missing here) render too: its row and notebook say so.
    shutil.rmtree(fresh / "results" / "smoke" / "xu_zhang" / "xz1")
    # Only the notebook that lost a result is forced again. The others must not rerun: with all
    # their results there, figures_only asks them for the same figures as a full run (their
    # per-dataset claims' figures included), so their params are unchanged.
    partial = ["--config", "scale=smoke", "progress=false", "cpu_only=true", "figures_only=true",
               "--allowed-rules", *FIGURE_RULES, "claims_table_cpu",
               "--forcerun", "results/smoke/notebooks/xu_zhang.ipynb", "claims_table_cpu", "--", "figures"]
    planned = dry(repo, fresh, *partial)
    assert set(planned) == {"notebook", "claims_table_cpu", "figures"} and planned["notebook"] == 1, planned
    snakemake(repo, fresh, *partial)
    row = pd.read_csv(fresh / "results" / "smoke" / "replication" / "claims_cpu.csv").set_index("claim").loc["XZ.1"]
    assert row.verdict == "not run" and "no result yet" in row.note
    assert "XZ.1: not in these results" in (fresh / "results" / "smoke" / "notebooks" / "xu_zhang.html").read_text()
    # A changed byte in the snapshot is refused, naming the file.
    claim = snap / "xu_zhang" / "xz1" / "claim.json"
    claim.write_text(claim.read_text().replace("XZ.1", "XZ.1 "))
    with pytest.raises(ValueError, match="xz1/claim.json"):
        restore_snapshot(snap, tmp_path / "again")


# ------------------------------------------------------------------ the report in a real browser
# The smoke report and a notebook's HTML in Debian's chromium through selenium, as a reader
# opens them in a 1400x900 window: the landing page's first heading is in view at scroll 0,
# every claim links its figures and each link shows its image, and no text holds the run's
# folder. Under .ci/run (DEEPLIMITS_REQUIRE_BROWSER=1) it must run; elsewhere it skips, saying
# why, when the browser or its driver is missing. Screenshots go to DEEPLIMITS_BROWSER_SHOTS
# (CI's artifacts) or the test's temporary folder.
WINDOW = (1400, 900)


def _browser():
    missing = []
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install selenium, or the lock's dev extra)")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        missing.append("chromium and chromium-driver (apt-get install chromium chromium-driver)")
    if missing:
        if os.environ.get("DEEPLIMITS_REQUIRE_BROWSER"):
            pytest.fail("the browser check must run here but lacks: " + "; ".join(missing))
        pytest.skip("no real browser: " + "; ".join(missing))
    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(driver))


def _shots(tmp_path) -> Path:
    folder = Path(os.environ.get("DEEPLIMITS_BROWSER_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait(browser, script: str, seconds: float = 20.0):
    """The value of `script` once it is truthy (the report builds its page with JavaScript)."""
    end = time.time() + seconds
    while time.time() < end:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"the page never gave: {script}")


HEADING_TOP = ("const e = [...document.querySelectorAll('strong')].find(x => x.textContent.includes("
               "'Replication table at scale')); return e ? e.getBoundingClientRect().top + 1 : 0")
PNG_LINKS = "return [...document.querySelectorAll('a')].map(a => a.textContent).filter(t => t.endsWith('.png'))"
SHOWN_PNG = ("return [...document.querySelectorAll('img')].filter(i => (i.getAttribute('src') || '')"
             ".startsWith('data:image/png') && i.naturalWidth > 0).length")


def test_the_report_reads_from_its_top_and_every_figure_link_shows_its_image(smoke_run, tmp_path):
    repo, workdir = smoke_run
    report = workdir / "report.html"
    if not report.exists():
        snakemake(repo, workdir, "--config", "scale=smoke", "--report", str(report))
    shots = _shots(tmp_path)
    browser = _browser()
    try:
        browser.get(report.as_uri())
        top = _wait(browser, HEADING_TOP) - 1
        browser.save_screenshot(str(shots / "report_landing.png"))
        assert 0 <= top < WINDOW[1], f"the landing page's heading is at y = {top}, out of a {WINDOW[1]} px window"
        links = browser.execute_script(PNG_LINKS)
        # Every claim's figures (the smoke run's datasets) are linked from the table.
        expected = {f.format(dataset="two_moons") for c in CLAIMS.values() for f in c.figures.values()}
        assert expected <= set(links), sorted(expected - set(links))
        for i, name in enumerate(dict.fromkeys(links)):
            browser.execute_script(
                "[...document.querySelectorAll('a')].find(a => a.textContent === arguments[0]).click()", name)
            _wait(browser, SHOWN_PNG, 10)
            if i == 0:
                browser.save_screenshot(str(shots / "report_figure.png"))
            browser.execute_script("app.setView({content: 'rulegraph'})")
        assert str(workdir) not in browser.page_source
        browser.get((workdir / "results" / "smoke" / "notebooks" / "thorpe_van_gennip.html").as_uri())
        _wait(browser, "return document.querySelectorAll('img').length")
        browser.save_screenshot(str(shots / "notebook_tvg.png"))
        assert str(workdir) not in browser.page_source
        assert browser.execute_script("return [...document.querySelectorAll('img')].every(i => i.naturalWidth > 0)")
    finally:
        browser.quit()
