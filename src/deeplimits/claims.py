"""The claims of the registry (their cards: docs/claim-cards.md), their verdicts, and the replication table.

Each analysis writes one claim file (JSON) per claim; `build_table` gathers them,
adds a row for every registered claim without a result ("not run", with the
reason), and writes claims.csv and claims.md. No verdict is written by hand:
each is computed from the claim's judged numbers and their intervals by the claim's judge
(judges.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from .io import write_csv, write_json, write_text
from .judges import judge, judge_reason
from .registry import CLAIMS, EARLIER_DESIGN, claim_of, figure_files, sensitivity_figure

PROVENANCE_WORDS = ("published", "reconstructed", "ours")
# "reported": a trend the spec asks to report without pass/fail (XZ.3). "inconclusive": the
# interval of a judged number straddles an edge of its target band (uncertainty.py).
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "reported", "not at this scale", "failed to run",
            "not run")


COLUMNS = ["paper", "claim", "statement", "scale", "measured", "interval", "interval_method", "target",
           "tolerance", "verdict", "provenance", "figure", "table", "note"]


def write_claim(outputs: dict, key: str, claim_id: str, *, scale: str, measured: str, target: str,
                tolerance: str, note: str = "", values: dict | None = None, label: str = "",
                measures=()) -> dict:
    """Write one claim's result to `outputs[key]`, its verdict judged from `values` and
    `measures` (judges.judge). `label` names the part of a claim measured separately (a dataset);
    the table merges the parts of one claim into one row. `measures` are the judged numbers
    with their intervals (uncertainty.Measure). Figures and tables come from the registry."""
    c = claim_of(claim_id)
    path = Path(outputs[key])
    values = dict(values or {}, measures=[m.as_dict() for m in measures])
    verdict = judge(claim_id, values, scale)
    reason = judge_reason(claim_id, values, scale)
    if reason:
        note = f"{note}; {reason}" if note else reason
    record = {
        "paper": c.paper, "claim": claim_id, "statement": c.statement, "scale": scale,
        "measured": measured, "target": target, "tolerance": tolerance, "verdict": verdict,
        "provenance": c.provenance,
        "figure": ", ".join(Path(f).name for f in figure_files(c, label).values()),
        "table": ", ".join(os.path.relpath(outputs[t], path.parent) for t in c.tables if t in outputs),
        "note": note, "values": values, "label": label, "design": c.design,
        "interval": "; ".join(m.text() for m in measures),
        "interval_method": "; ".join(dict.fromkeys(m.method for m in measures)),
    }
    write_json(path, record)
    return record


NO_ANALYSIS = "no analysis for this claim in the pipeline yet"
EARLIER = EARLIER_DESIGN  # what a claim file written before designs were recorded ran


def earlier_design_note(ran: str, current: str) -> str:
    return f"ran the design of {ran}; its card (docs/claim-cards.md) describes the design of {current}: rerun it"
PENDING_NOTE = "no result yet in the results this table was rendered from (its run is not finished)"


def build_table(claim_files: list[str | Path], scale: str, out_csv: str | Path, out_md: str | Path,
                missing_note: str = NO_ANALYSIS, left_out: list[tuple[str, str]] = (),
                sensitivity_files: list[str | Path] = (), out_rst: str | Path | None = None,
                pending: list[str] = ()) -> pd.DataFrame:
    """Every claim of the registry, one row each; claims without a file are 'not run' with
    `missing_note` saying why (a partial table names what it leaves out). `left_out` lists
    (claim, label) parts left out of a claim whose other parts are in the table: the row's
    note names each of them with `missing_note`, so its verdict is read as partial.
    `sensitivity_files` (sensitivity.json) add to a claim part's note the declared choices
    that flip its verdict ("sensitive to: ..."). `pending` claims belong in this table but have
    no result yet (a table rendered from results that are still being computed)."""
    from .sensitivity import sensitivity_note

    notes = {}
    for f in sensitivity_files:
        summary = json.loads(Path(f).read_text())
        notes[(summary["claim"], summary.get("label", ""))] = sensitivity_note(summary)
    parts: dict[str, list[dict]] = {}
    for f in claim_files:
        rec = json.loads(Path(f).read_text())
        if rec["claim"] in CLAIMS and rec.get("design", EARLIER) != CLAIMS[rec["claim"]].design:
            gap = earlier_design_note(rec.get("design", EARLIER), CLAIMS[rec["claim"]].design)
            rec["note"] = f"{rec['note']}; {gap}" if rec.get("note") else gap
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
    # A pending part (`CLAIM:LABEL`) of a claim with other parts in the table is named in its note;
    # a claim with nothing yet gets a row that says so.
    pending_ids = set()
    for item in pending:
        cid, _, label = item.partition(":")
        pending_ids.add(cid)
        if cid in rows and label:
            gap = f"[{label}] {PENDING_NOTE}"
            rows[cid]["note"] = f"{rows[cid]['note']}; {gap}" if rows[cid]["note"] else gap
    for cid, c in CLAIMS.items():
        if cid not in rows:
            rows[cid] = {
                "paper": c.paper, "claim": cid, "statement": c.statement, "scale": scale,
                "measured": "", "interval": "", "interval_method": "", "target": "", "tolerance": "",
                "verdict": "not run",
                "provenance": c.provenance, "figure": "", "table": "",
                "note": PENDING_NOTE if cid in pending_ids else missing_note,
            }
    order = list(CLAIMS)
    frame = pd.DataFrame([rows[c] for c in order], columns=COLUMNS)
    write_csv(out_csv, frame)
    write_text(out_md, to_markdown(frame))
    if out_rst:
        figures = {}
        for f in sensitivity_files:  # a claim with a sensitivity figure of its own lists it among its figures
            summary = json.loads(Path(f).read_text())
            if "sensitivity" not in CLAIMS[summary["claim"]].figures:
                figures.setdefault(summary["claim"], []).append(sensitivity_figure(summary["claim"], summary.get("label", "")))
        write_text(out_rst, to_rst(frame, scale, root=Path(out_rst).parent.parent.as_posix(), sensitivity=figures))
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
        # Markdown would read * and _ as emphasis (k*k*width^3) and | as a column break.
        cells = [re.sub(r"([\\*_|])", r"\\\1", str(row[c])).replace("\n", " ") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "# Replication table\n\n" + verdict_counts(frame) + "\n\n" + "\n".join(lines) + "\n"


def verdict_counts(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts().to_dict()
    return ", ".join(f"{v}: {counts[v]}" for v in VERDICTS if v in counts)


# The landing page's verdict colours (a role per verdict: a span of that class).
VERDICT_COLOURS = {"reproduced": "#1a7f37", "not reproduced": "#b42318", "inconclusive": "#b54708",
                   "reported": "#175cd3", "not at this scale": "#667085", "failed to run": "#b42318",
                   "not run": "#667085"}
LANDING_TEXT = 70  # characters of a claim's judged number on the landing page


def _role(verdict: str) -> str:
    return "v" + re.sub(r"\W", "", verdict)


def figure_link(path: str, name: str) -> str:
    """An inline link of the report that opens a figure (a report item at `path`, relative to
    the working directory) as an image, not its details panel."""
    view = f"{{content: 'img', contentPath: results['{path}'].data_uri, resultPath: '{path}'}}"
    return f':raw-html:`<a href="javascript:app.setView({view})">{name}</a>`'


def to_rst(frame: pd.DataFrame, scale: str, root: str | None = None, sensitivity: dict | None = None) -> str:
    """The report's landing page, short enough to read from its top: the verdict counts, then
    one line per claim (its id, its coloured verdict, its first judged number of the treated
    arm (a control's or a reported number only where it has no other), links to its
    figures and its sensitivity figures). With `root` (results/<scale>, as the report names its
    items) a link opens the figure itself; without, it names the report item. The full table
    is the report item claims.csv. `sensitivity`: claim -> its sensitivity figures' names."""
    def cell(text) -> str:
        text = " ".join(str(text).split())
        if text in ("", "nan"):
            return "none"  # ("-" alone would be read as a bullet)
        # Characters RST would read as markup (substitutions |x|, emphasis, references x_).
        return re.sub(r"([\\*`|_])", r"\\\1", text)

    styles = " ".join(f"span.{_role(v)} {{color: {c}; font-weight: 600}}" for v, c in VERDICT_COLOURS.items())
    # Snakemake's report centres its landing page vertically in a scrolling box, beside the
    # rule graph: taller than the window, its top would be out of reach. Start it at the top,
    # and give the table room.
    styles += (" div.h-screen.overflow-auto.items-center {align-items: flex-start !important} "
               "div.prose.max-w-lg {max-width: 56rem !important}")
    lines = [".. raw:: html", "", f"   <style>{styles}</style>", ""]
    lines += [f".. role:: {_role(v)}" for v in VERDICT_COLOURS] + [""]
    lines += [f"**Replication table at scale** ``{scale}``: {verdict_counts(frame)}.", "",
              ".. list-table::", "   :header-rows: 1", "   :widths: 8 14 48 30", "",
              "   * - claim", "     - verdict", "     - judged number (full table: claims.csv)", "     - figures"]
    lines = lines[:4] + [".. role:: raw-html(raw)", "   :format: html", ""] + lines[4:]
    for _, row in frame.iterrows():
        figures = re.findall(r"[\w.=-]+\.png", str(row["figure"])) + list((sensitivity or {}).get(row["claim"], []))
        if root and "paper" in row:
            links = ", ".join(figure_link(f"{root}/figures/{row['paper']}/{f}", f) for f in dict.fromkeys(figures))
        else:
            links = ", ".join(f"`{f}`_" for f in dict.fromkeys(figures))
        links = links or "none"
        # The treated arm's judged number, not a control's or a reported one's, where there is one.
        entries = [e.strip() for e in str(row["interval"]).split(";") if e.strip()] if cell(row["interval"]) != "none" else []
        judged = [e for e in entries if not e.startswith(("control:", "reported:"))]
        # A claim reported without an interval (a trend) shows the start of what it measured.
        measured = str(row.get("measured", "")).split(";")[0].strip() if cell(row.get("measured", "")) != "none" else ""
        first = (judged or entries or [measured])[0]
        first = first if len(first) <= LANDING_TEXT else first[:LANDING_TEXT - 3] + "..."
        verdict = str(row["verdict"])
        lines += [f"   * - {row['claim']}", f"     - :{_role(verdict)}:`{verdict}`", f"     - {cell(first)}",
                  f"     - {links}"]
    return "\n".join(lines) + "\n"


def verdict_table(frame: pd.DataFrame, columns: list[str]) -> str:
    """The claims of a notebook as an HTML table a reader can read whole: every cell in full
    (wrapped, never cut with "..."), no index, empty cells for missing values."""
    import html

    # Short columns (an id, a verdict) stay on one line: "not reproduced" is never split mid-word.
    short = {"claim", "label", "provenance", "verdict"}
    cls = [' class="short"' if c in short else "" for c in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td{k}>{html.escape('' if pd.isna(v) else str(v))}</td>" for k, v in zip(cls, row))
                   + "</tr>" for row in frame[columns].itertuples(index=False))
    # !important: the notebook HTML's own table style right-aligns cells.
    style = ("<style>.deeplimits-verdicts td, .deeplimits-verdicts th {white-space: normal; text-align: left "
             "!important; vertical-align: top; max-width: 28em; word-break: break-word} .deeplimits-verdicts "
             "td.short, .deeplimits-verdicts th {white-space: nowrap; word-break: normal}</style>")
    return f'{style}<table class="deeplimits-verdicts"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def claim_frame(files) -> pd.DataFrame:
    """The claim files as a table (for notebooks): verdicts beside their provenance."""
    rows = [json.loads(Path(f).read_text()) for f in files]
    return pd.DataFrame(rows, columns=["label", *COLUMNS, "values"])
