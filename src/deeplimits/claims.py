"""The claims of REPLICATION.md, their verdicts, and the replication table.

Each analysis writes one claim file (JSON) per claim; `build_table` gathers them,
adds a row for every registered claim without a result ("not run", with the
reason), and writes claims.csv and claims.md. No verdict is written by hand:
each is computed from the claim's judged numbers and their intervals (`judged`,
uncertainty.py) by the analysis that measured them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .io import write_csv, write_json, write_text

PROVENANCE_WORDS = ("published", "reconstructed", "ours")
# "reported": a trend the spec asks to report without pass/fail (XZ.3). "inconclusive": the
# interval of a judged number straddles an edge of its target band (uncertainty.py).
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "reported", "not at this scale", "failed to run",
            "not run")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    provenance: str


CLAIMS = {c.id: c for c in [
    Claim("HZ.1", "huang_zhang", "random scaled ResNet: max|y(n)-y(n-1)| decays like n^-(1+alpha)", "published"),
    Claim("HZ.2", "huang_zhang", "trained scaled ResNet: CIFAR-10 test accuracy 92.3%, A(75)=1.876, B(75)=2.19e-3", "published"),
    Claim("HZ.3", "huang_zhang", "explicit activation-matrix form = forward pass; per-block bound holds; truncated nets converge", "ours"),
    Claim("HZ.4", "huang_zhang", "partial sums bounded in depth for alpha > 0, growing like log D for alpha = 0", "ours"),
    Claim("XZ.1", "xu_zhang", "explicit product form = forward pass; activation domains along segments stabilise with depth", "ours"),
    Claim("XZ.2", "xu_zhang", "W(n) = I + n^-(1+alpha) G: increments decay like n^-(1+alpha) for alpha > 0, not for alpha <= 0", "ours"),
    Claim("XZ.3", "xu_zhang", "trained plain nets: ||W(n) - I|| and ||b(n)|| vs n (trend)", "reconstructed"),
    Claim("XZ.4", "xu_zhang", "convergent init trains at depths where He init fails", "reconstructed"),
    Claim("CRX.1", "cont_rossier_xu", "full-batch GD converges linearly; rate varies < 10% across depth", "reconstructed"),
    Claim("CRX.2", "cont_rossier_xu", "max_k ||A(k)|| ~ L^-beta with beta = 0.5", "reconstructed"),
    Claim("CRX.3", "cont_rossier_xu", "weights along depth have finite 2-variation in the limit", "reconstructed"),
    Claim("CRX.4", "cont_rossier_xu", "max_k ||A(k)|| ~ L^-beta with beta = 0.2 (tanh, ODE), 0.5 (relu, ODE), "
          "0.4 (relu, MNIST features); targets reconstructed: constants in the companion's analysis code",
          "reconstructed"),
    Claim("TvG.1", "thorpe_van_gennip", "min E_N converges as N -> infinity", "ours"),
    Claim("TvG.2", "thorpe_van_gennip", "minimisers' weight profiles converge (distances halve per doubling)", "ours"),
    Claim("TvG.3", "thorpe_van_gennip", "Euler ResNet vs ODE solve differs by O(1/N)", "ours"),
    Claim("TvG.4", "thorpe_van_gennip", "the continuum problem's minimum matches the extrapolated m_inf", "ours"),
    Claim("TvG.5", "thorpe_van_gennip", "without the H1 penalty, weight profiles do not converge", "ours"),
]}

COLUMNS = ["paper", "claim", "statement", "scale", "measured", "interval", "interval_method", "target",
           "tolerance", "verdict", "provenance", "figure", "table", "note"]


def judged(measures, scale: str, applies_at: tuple[str, ...] = ("smoke", "quick", "paper")) -> str:
    """The verdict of a claim from its judged numbers (uncertainty.combine), at this scale."""
    from .uncertainty import combine

    if scale not in applies_at:
        return "not at this scale"
    return combine(m.verdict for m in measures)


def write_claim(path: str | Path, claim_id: str, *, scale: str, measured: str, target: str,
                tolerance: str, verdict: str, figure: str = "", table: str = "", note: str = "",
                values: dict | None = None, label: str = "", measures=()) -> dict:
    """Write one claim's result. `label` names the part of a claim measured separately
    (a dataset); the table merges the parts of one claim into one row. `measures` are the
    judged numbers with their intervals (uncertainty.Measure)."""
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim id {claim_id!r}")
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; allowed: {', '.join(VERDICTS)}")
    c = CLAIMS[claim_id]
    record = {
        "paper": c.paper, "claim": claim_id, "statement": c.statement, "scale": scale,
        "measured": measured, "target": target, "tolerance": tolerance, "verdict": verdict,
        "provenance": c.provenance, "figure": figure, "table": table, "note": note,
        "values": dict(values or {}, measures=[m.as_dict() for m in measures]), "label": label,
        "interval": "; ".join(m.text() for m in measures),
        "interval_method": "; ".join(dict.fromkeys(m.method for m in measures)),
    }
    write_json(path, record)
    return record


NO_ANALYSIS = "no analysis for this claim in the pipeline yet"


def build_table(claim_files: list[str | Path], scale: str, out_csv: str | Path, out_md: str | Path,
                missing_note: str = NO_ANALYSIS, left_out: list[tuple[str, str]] = (),
                sensitivity_files: list[str | Path] = ()) -> pd.DataFrame:
    """Every claim of the registry, one row each; claims without a file are 'not run' with
    `missing_note` saying why (a partial table names what it leaves out). `left_out` lists
    (claim, label) parts left out of a claim whose other parts are in the table: the row's
    note names each of them with `missing_note`, so its verdict is read as partial.
    `sensitivity_files` (sensitivity.json) add to a claim part's note the declared choices
    that flip its verdict ("sensitive to: ...")."""
    from .sensitivity import sensitivity_note

    notes = {}
    for f in sensitivity_files:
        summary = json.loads(Path(f).read_text())
        notes[(summary["claim"], summary.get("label", ""))] = sensitivity_note(summary)
    parts: dict[str, list[dict]] = {}
    for f in claim_files:
        rec = json.loads(Path(f).read_text())
        extra = notes.get((rec["claim"], rec.get("label", "")))
        if extra:
            rec["note"] = f"{rec['note']}; {extra}" if rec.get("note") else extra
        parts.setdefault(rec["claim"], []).append(rec)
    rows = {cid: merge_parts(recs) for cid, recs in parts.items()}
    for cid, label in left_out:
        if cid not in CLAIMS:
            raise KeyError(f"unknown claim id {cid!r} in the left-out parts")
        if cid in rows:
            gap = f"[{label}] {missing_note}"
            rows[cid]["note"] = f"{rows[cid]['note']}; {gap}" if rows[cid]["note"] else gap
    for cid, c in CLAIMS.items():
        if cid not in rows:
            rows[cid] = {
                "paper": c.paper, "claim": cid, "statement": c.statement, "scale": scale,
                "measured": "", "interval": "", "interval_method": "", "target": "", "tolerance": "",
                "verdict": "not run",
                "provenance": c.provenance, "figure": "", "table": "",
                "note": missing_note,
            }
    order = list(CLAIMS)
    frame = pd.DataFrame([rows[c] for c in order], columns=COLUMNS)
    write_csv(out_csv, frame)
    write_text(out_md, to_markdown(frame))
    return frame


# When a claim is measured in several parts (datasets), the row's verdict is the weakest.
_VERDICT_ORDER = ("failed to run", "not reproduced", "inconclusive", "not at this scale", "reported", "reproduced",
                  "not run")


def merge_parts(records: list[dict]) -> dict:
    if len(records) == 1:
        return {k: records[0].get(k, "") for k in COLUMNS}
    row = {k: records[0].get(k, "") for k in COLUMNS}
    row["verdict"] = min((r["verdict"] for r in records), key=_VERDICT_ORDER.index)
    for key in ("measured", "interval", "interval_method", "figure", "table", "note"):
        row[key] = "; ".join(f"[{r.get('label', '')}] {r.get(key, '')}" for r in records if r.get(key))
    return row


def to_markdown(frame: pd.DataFrame) -> str:
    cols = ["claim", "provenance", "verdict", "measured", "interval", "interval_method", "target", "tolerance",
            "statement", "note"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [str(row[c]).replace("|", "\\|").replace("\n", " ") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    counts = frame["verdict"].value_counts().to_dict()
    summary = ", ".join(f"{v}: {counts[v]}" for v in VERDICTS if v in counts)
    return "# Replication table\n\n" + summary + "\n\n" + "\n".join(lines) + "\n"


def claim_frame(files) -> pd.DataFrame:
    """The claim files as a table (for notebooks): verdicts beside their provenance."""
    rows = [json.loads(Path(f).read_text()) for f in files]
    return pd.DataFrame(rows, columns=["label", *COLUMNS, "values"])
