"""Pages generated from result files, the registry and the config (never typed by hand):
the claim cards (docs/claim-cards.md), the status of the paper-scale snapshot and of the
recorded runs (docs/status.md), the benchmarks (docs/benchmarks.md). `python -m deeplimits
docs` writes them all; tests regenerate each and fail on a difference."""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import fields
from pathlib import Path

import pandas as pd

from .benchmarks import benchmarks_page
from .claims import EARLIER
from .compare import claim_files
from .config import DEFAULT_CONFIG_PATH, REPO_ROOT, load_config
from .io import write_text
from .provenance import short_commit
from .registry import CARDS, CLAIMS, PAPERS, SCALES, Card, analysis_of

CARDS_PAGE = "docs/claim-cards.md"
CARD_FIELDS = {
    "statement": "Statement",
    "judged": "Judged quantity",
    "not_by_construction": "Why the construction does not fix it",
    "control": "Control and its non-degeneracy check",
    "draws": "One independent draw",
    "interval": "Interval method",
    "target_source": "Target and its source",
    "tolerance_reason": "Tolerance and its reason",
    "budget": "Step or iteration budget",
}
assert set(CARD_FIELDS) == {f.name for f in fields(Card)} - {"values", "constants"}


def _value(v) -> str:
    return ", ".join(_value(x) for x in v) if isinstance(v, list) else f"{v:g}" if isinstance(v, float) else str(v)


def card_section(claim_id: str, configs: dict[str, dict], runs: dict | None = None,
                 snapshot: dict | None = None) -> str:
    c, card = CLAIMS[claim_id], CARDS[claim_id]
    experiment = analysis_of(c.analysis).experiment
    lines = [f"## {claim_id}", "", f"*{PAPERS[c.paper]}; provenance: {c.provenance}; judge: {c.judge}; "
             f"applies at: {', '.join(c.applies_at)}.*", ""]
    lines += [f"- **{label}**: {getattr(card, name)}" for name, label in CARD_FIELDS.items()]
    if card.values:
        lines += ["", f"Settings its judge reads (config.yaml, `experiments.{experiment}`):", "",
                  "| setting | " + " | ".join(SCALES) + " |", "|---|" + "---|" * len(SCALES)]
        lines += [f"| `{key}` | " + " | ".join(_value(configs[s]["experiments"][experiment][key]) for s in SCALES) + " |"
                  for key in card.values]
    declared = {s: {k: v for k, v in configs[s]["experiments"][experiment].get("sensitivity", {}).items() if v}
                for s in SCALES}
    choices = sorted({k for d in declared.values() for k in d})
    if choices:
        lines += ["", f"Declared sensitivity runs (`experiments.{experiment}.sensitivity`), one choice at a time:", "",
                  "| choice | " + " | ".join(SCALES) + " |", "|---|" + "---|" * len(SCALES)]
        lines += [f"| `{k}` | " + " | ".join(_value(declared[s].get(k, [])) or "none" for s in SCALES) + " |"
                  for k in choices]
    for ref in card.constants:
        module, _, name = ref.partition(":")
        value = getattr(importlib.import_module(f"deeplimits.analysis.{module}"), name)
        lines += ["", f"Targets kept in code (`deeplimits.analysis.{module}.{name}`): "
                  + "; ".join(f"{'/'.join(k) if isinstance(k, tuple) else k}: {v}" for k, v in value.items())]
    for scale, record in (runs or {}).items():
        row = next((r for r in record.get("claims", []) if r["claim"] == claim_id), None)
        if row:
            lines += ["", f"Its result in the recorded {scale} run (commit `{short_commit(record['git_commit'])}`, "
                      f"{record['started'][:10]}): **{row['verdict']}**. Measured: {row['measured'] or 'nothing'}"
                      + (f". Note: {row['note']}" if row["note"] else "")]
    if snapshot is not None:
        lines += ["", _snapshot_result(claim_id, snapshot)]
    return "\n".join(lines) + "\n"


def _snapshot_result(claim_id: str, snapshot: dict) -> str:
    """The paper-scale snapshot's row for one claim (its note says when it ran an earlier design)."""
    manifest, row = snapshot["manifest"], snapshot["rows"].get(claim_id)
    where = f"`{SNAPSHOT}` (commit `{short_commit(manifest['commit'])}`, {manifest['processor']})"
    if row is None:
        return f"Not in the paper-scale snapshot {where}."
    if not row["measured"]:
        return f"Its result in the paper-scale snapshot {where}: **{row['verdict']}** ({row['note'] or 'no note'})."
    # A row of an earlier design says so in its note (claims.earlier_design_note).
    why = _why(snapshot["claims"].get(claim_id, [])) if row["verdict"] in ("not reproduced", "inconclusive") else ""
    return (f"Its result in the paper-scale snapshot {where}: **{row['verdict']}**. Measured: {row['measured']}"
            + (f". Note: {row['note']}" if row["note"] else "") + "." + (f" Why: {why}." if why else ""))


def _why(records: list[dict]) -> str:
    """The judged numbers (treated and control) that did not pass, with interval and band: what
    makes a row not reproduced or inconclusive."""
    failed = []
    for rec in records:
        for m in rec.get("values", {}).get("measures", []):
            if m.get("role", "treated") != "reported" and m["verdict"] != "reproduced":
                part = f"[{rec['label']}] " if rec.get("label") else ""
                where = "outside" if m["verdict"] == "not reproduced" else "not inside"
                failed.append(f"{part}{m['name']} ({m.get('role', 'treated')}) = {_number(m['value'])}"
                              + (f", interval {_interval(m)}" if _interval(m) else "")
                              + f", {where} its band {_band(m) or '(none)'}")
    return "; ".join(failed)


def _load_snapshot(snapshot: Path) -> dict | None:
    if not (snapshot / "MANIFEST.json").exists():
        return None
    table = pd.read_csv(snapshot / "replication" / "claims_cpu.csv", keep_default_na=False)
    claims = {}
    for _, rec in _snapshot_claims(snapshot):
        claims.setdefault(rec["claim"], []).append(rec)
    return {"manifest": json.loads((snapshot / "MANIFEST.json").read_text()),
            "rows": {r["claim"]: r for r in table.to_dict("records")}, "claims": claims}


def claim_cards_page(config_path=DEFAULT_CONFIG_PATH, runs_dir=None, snapshot_dir=None) -> str:
    configs = {s: load_config(config_path, {"scale": s}) for s in SCALES}
    runs_dir = Path(config_path).parent / RUNS if runs_dir is None else Path(runs_dir)
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(runs_dir.glob("*.json"))}
    snapshot = _load_snapshot(Path(config_path).parent / SNAPSHOT if snapshot_dir is None else Path(snapshot_dir))
    head = ["# Claim cards", "",
            "Generated by `python -m deeplimits docs` from the claim registry (src/deeplimits/registry.py) and "
            "config.yaml; do not edit. One card per claim of the replication table: what is judged, why the "
            "construction does not fix it, the control, the draws and interval, the target with its source and the "
            "tolerance with its reason, the budget; the settings its judge reads are printed per scale from the "
            f"config; and its result in each run recorded in `{RUNS}/` (`make record-run`), verdict and note as the "
            f"table gave them (why a row is not reproduced or inconclusive); and its row in the paper-scale snapshot "
            f"`{SNAPSHOT}` (the rows a 2-core CPU can run).", ""]
    return "\n".join(head) + "\n" + "\n".join(card_section(cid, configs, runs, snapshot) for cid in CLAIMS)


SNAPSHOT = "artifacts/paper-cpu"
RUNS = "artifacts/runs"
STATUS_PAGE = "docs/status.md"
BENCHMARKS_PAGE = "docs/benchmarks.md"


def _number(x) -> str:
    return "" if x is None else f"{x:.4g}"


def _interval(m: dict) -> str:
    return "" if m.get("lo") is None or m["lo"] == m["hi"] else f"[{_number(m['lo'])}, {_number(m['hi'])}]"


def _band(m: dict) -> str:
    lo, hi = m.get("band_lo"), m.get("band_hi")
    return "" if lo is None and hi is None else f"[{_number(lo) or '-inf'}, {_number(hi) or 'inf'}]"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ") if text == text else ""


def _snapshot_claims(snapshot: Path) -> list[tuple[str, dict]]:
    """(path in the snapshot, record) of every claim file outside sensitivity runs, in registry order."""
    found = [(p.relative_to(snapshot).as_posix(), json.loads(p.read_text())) for p in claim_files(snapshot)]
    order = list(CLAIMS)
    return sorted(found, key=lambda f: (order.index(f[1]["claim"]) if f[1]["claim"] in order else len(order), f[0]))


def _values_table(files: list[tuple[str, dict]]) -> list[str]:
    lines = ["| claim | part | number | role | value | 95% interval | band | verdict |", "|---|---|---|---|---|---|---|---|"]
    for _, rec in files:
        for m in rec.get("values", {}).get("measures", []):
            lines.append(f"| {rec['claim']} | {rec.get('label') or ''} | {_cell(m['name'])} | {m.get('role', 'treated')} | "
                         f"{_number(m['value'])} | {_interval(m)} | {_band(m)} | {_role_verdict(m)} |")
    return lines


def _role_verdict(m: dict) -> str:
    """A number's band verdict as its role reads it: a reported number is not judged, and a
    control's band is where the conclusion fails (judges.apply_controls)."""
    role = m.get("role", "treated")
    if role == "reported":
        return "reported"
    if role == "control":
        return {"reproduced": "fails as required", "not reproduced": "does not fail"}.get(m["verdict"], "unclear")
    return m["verdict"]


def _sensitivity_tables(snapshot: Path) -> list[str]:
    lines = []
    for folder in sorted(p for p in snapshot.rglob("sensitivity") if p.is_dir()):
        runs = [(p.parent.name, json.loads(p.read_text())) for p in claim_files(folder)]
        if not runs:
            continue
        claim = runs[0][1]["claim"]
        lines += ["", f"### {claim} (`{folder.relative_to(snapshot).as_posix()}`)", "",
                  "| run | number | value | 95% interval | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {run} | {_cell(m['name'])} | {_number(m['value'])} | {_interval(m)} | {m['verdict']} |"
                  for run, rec in runs for m in rec.get("values", {}).get("measures", [])]
    return lines


def _run_records(runs_dir: Path) -> list[str]:
    records = [json.loads(p.read_text()) for p in sorted(runs_dir.glob("*.json"))]
    if not records:
        return ["No run recorded yet: `make record-run SCALE=quick` after a run writes one."]
    lines = ["| scale | started | span | jobs | training cells | training time | commit | machine |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['scale']} | {r['started']} | {r['span_s'] / 60:.1f} min | {r['jobs']} | {r['training_cells']} "
                     f"| {r['training_wall_time_s']:.0f} s | `{short_commit(r['git_commit'])}` | {r['cpu_model']}, "
                     f"{r['cores']} cores, torch {r['versions']['torch']} |")
    lines += ["", "Jobs and summed seconds per stage (a stage's jobs run in parallel, so its seconds can "
              "exceed the span):", "", "| scale | " + " | ".join(STAGES) + " |", "|---|" + "---|" * len(STAGES)]
    lines += [f"| {r['scale']} | " + " | ".join(f"{r['jobs_per_stage'].get(s, 0)} jobs, {r['seconds_per_stage'].get(s, 0):.0f} s"
                                                for s in STAGES) + " |" for r in records]
    return lines


STAGES = ("data", "train", "analysis", "sensitivity", "notebook", "claims_table")


def _design_words(ran: list[tuple[str, str]], card: str) -> str:
    """Which design a claim's parts ran: 'current', or the parts (datasets) of an earlier one."""
    if not ran:
        return ""
    earlier = [(part, d) for part, d in ran if d != card]
    if not earlier:
        return "current"
    which = "" if len(earlier) == len(ran) else " (" + ", ".join(part for part, _ in earlier) + ")"
    return f"earlier{which}: ran {', '.join(sorted({d for _, d in earlier}))}, card {card}"


def status_page(snapshot: str | Path = REPO_ROOT / SNAPSHOT, runs_dir: str | Path = REPO_ROOT / RUNS) -> str:
    """docs/status.md: the paper-scale snapshot's table, every claim's numbers with intervals,
    its sensitivity runs, and the recorded run times; every number read from those files."""
    snapshot, manifest = Path(snapshot), json.loads((Path(snapshot) / "MANIFEST.json").read_text())
    table = pd.read_csv(snapshot / "replication" / "claims_cpu.csv", keep_default_na=False)
    files = _snapshot_claims(snapshot)
    designs = {}  # claim -> [(part, design it ran)]
    for _, rec in files:
        designs.setdefault(rec["claim"], []).append((rec.get("label") or "", rec.get("design", EARLIER)))
    counts = table["verdict"].value_counts()
    lines = ["# Status", "",
             f"Generated by `python -m deeplimits docs` from `{SNAPSHOT}` (its table, claim files and "
             f"MANIFEST.json) and `{RUNS}/`; do not edit.", "",
             "## The paper-scale snapshot", "",
             f"Commit `{short_commit(manifest['commit'])}`, {manifest['processor']} ({manifest['machine']}), torch "
             f"{manifest['versions'].get('torch', '?')}; {manifest['training_cells']} training cells, "
             f"{manifest['training_wall_time_s'] / 3600:.1f} hours of training in all; {len(manifest['files'])} files. "
             f"Its own note: {manifest['note']}", "",
             "Verdicts: " + ", ".join(f"{v} {n}" for v, n in counts.items()) + ".", "",
             "| claim | verdict | measured | target | tolerance | design |", "|---|---|---|---|---|---|"]
    for row in table.itertuples():
        design = _design_words(designs.get(row.claim, []), CLAIMS[row.claim].design)
        measured = row.measured or (f"({row.note})" if "note" in table else "")
        lines.append(f"| {row.claim} | {row.verdict} | {_cell(measured)} | {_cell(row.target)} | "
                     f"{_cell(row.tolerance)} | {design} |")
    lines += ["", "Not in the snapshot: " + (", ".join(sorted(set(CLAIMS) - set(table["claim"]))) or "none") + ".",
              "", "## Every judged number", "",
              "From each claim file's `values.measures`. Verdict: a treated number's interval against its band; "
              "a control's band is where the conclusion fails, so inside it the control fails as required; a "
              "reported number is not judged.", ""]
    lines += _values_table(files)
    lines += ["", "## Sensitivity runs", "", "Each declared choice rerun one at a time from the main setting:"]
    lines += _sensitivity_tables(snapshot)
    lines += ["", "## Run times", "", f"Whole replication runs, recorded by `make record-run` in `{RUNS}/`:", ""]
    lines += _run_records(Path(runs_dir))
    return "\n".join(lines) + "\n"


GENERATED = {CARDS_PAGE: claim_cards_page, STATUS_PAGE: status_page, BENCHMARKS_PAGE: benchmarks_page}
# Generated by their own commands (a simulation, a comparison), each with its freshness test.
GENERATED_ELSEWHERE = ("docs/interval-coverage.md", "docs/compare-example.md", "docs/estimate.md")


def write_docs(root: str | Path = REPO_ROOT) -> list[Path]:
    """Write every page of GENERATED under root; return the paths written."""
    written = []
    for page, make in GENERATED.items():
        write_text(Path(root) / page, make())
        written.append(Path(root) / page)
    return written


# A digit in hand-written prose is a typed number unless it is one of these: a claim id or a
# rule of the claim designs (HZ.1, R4), a name with digits after letters (float32, H100,
# x86_64, L2), an acronym's numbered name (CIFAR-10, SHA-256), a citation's year in parentheses or after a venue,
# a numbered list's marker. Code (fenced, indented by four spaces, or inline), link targets
# and HTML comments are not prose. Everything else with a digit is reported.
ALLOWED_IN_PROSE = (
    r"\b(?:HZ|XZ|CRX|TvG)\.\d+\b", r"\bR\d(?:\s*[-–]\s*R\d)?\b", r"\b[A-Za-z][A-Za-z_]*\d\w*",
    r"\b[A-Z]{2,}-\d+\b", r"\((?:19|20)\d\d(?:/\d\d)?\)", r"\b(?:ICML|NeurIPS|ICLR) (?:19|20)\d\d\b", r"^\s*\d+\.\s",
)
COMMIT = r"\b(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b"  # a commit hash would pass as a name: flagged first
NOT_PROSE = (r"`[^`]*`", r"\]\([^)]*\)", r"<!--.*?-->", r"https?://\S+")


def typed_numbers(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line of Markdown prose holding a digit that is not allowed."""
    found, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or line.startswith(("    ", "\t")):
            continue
        prose = line
        for pattern in NOT_PROSE:
            prose = re.sub(pattern, " ", prose)
        hashes = re.search(COMMIT, prose)
        for pattern in ALLOWED_IN_PROSE:
            prose = re.sub(pattern, " ", prose)
        if hashes or re.search(r"\d", prose):
            found.append((number, line))
    return found


def hand_written_pages(root: str | Path = REPO_ROOT) -> list[Path]:
    """README.md and every docs page that no command generates."""
    generated = {Path(root) / p for p in (*GENERATED, *GENERATED_ELSEWHERE)}
    return [Path(root) / "README.md"] + sorted(p for p in (Path(root) / "docs").glob("*.md") if p not in generated)
