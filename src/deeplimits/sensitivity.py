"""Sensitivity of a claim to the protocol choices its sources leave open.

A claim declares choices in its experiment's `sensitivity` block; the DAG reruns the claim
once per value, one choice at a time from the main setting (plan.py), and writes each run's
claim file in a folder named `<choice>=<value>`. This module gathers those runs beside the
main one into a table (one row per run and judged number) and names the choices under
which the claim's verdict differs from the main setting's: the replication table's note
then says "sensitive to: ...".
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .io import write_csv, write_json

COLUMNS = ["claim", "label", "choice", "value", "measure", "measured", "lo", "hi", "method", "band_lo", "band_hi",
           "measure_verdict", "verdict", "depths"]
# A run named this stands for the main setting over the sensitivity runs' own (smaller) grid.
MAIN = "main"


def run_name(claim_file: str | Path) -> tuple[str, str]:
    """(choice, value) of a run from its folder name `<choice>=<value>` ('main' for the main setting)."""
    name = Path(claim_file).parent.name
    choice, sep, value = name.partition("=")
    if not sep:
        if name != MAIN:
            raise ValueError(f"{claim_file}: a sensitivity run's folder is named <choice>=<value> or {MAIN!r}")
        return MAIN, ""
    return choice, value


def _rows(record: dict, choice: str, value: str) -> list[dict]:
    depths = record.get("values", {}).get("depths", "")
    base = {"claim": record["claim"], "label": record.get("label", ""), "choice": choice, "value": value,
            "verdict": record["verdict"], "depths": depths}
    measures = record.get("values", {}).get("measures", [])
    if not measures:
        return [dict(base, measure="", measured=float("nan"))]
    return [dict(base, measure=m["name"], measured=m["value"], lo=m["lo"], hi=m["hi"], method=m["method"],
                 band_lo=m["band_lo"], band_hi=m["band_hi"], measure_verdict=m["verdict"]) for m in measures]


def sensitivity_table(main_file, run_files, out_csv, out_json) -> dict:
    """The main claim (choice 'main setting') and its sensitivity runs in one table. The
    reference verdict is the main setting's over the runs' grid when a 'main' run exists
    (the runs may cover fewer depths), else the main claim's."""
    main = json.loads(Path(main_file).read_text())
    rows = _rows(main, "main setting", "")
    runs = []
    for f in run_files:
        choice, value = run_name(f)
        record = json.loads(Path(f).read_text())
        rows += _rows(record, choice, value)
        runs.append((choice, value, record["verdict"]))
    reference = next((v for c, _, v in runs if c == MAIN), main["verdict"])
    flips = [{"choice": c, "value": v, "verdict": verdict} for c, v, verdict in runs
             if c != MAIN and verdict != reference]
    write_csv(out_csv, pd.DataFrame(rows, columns=COLUMNS))
    summary = {"claim": main["claim"], "label": main.get("label", ""), "main_verdict": main["verdict"],
               "reference_verdict": reference, "choices": sorted({c for c, _, _ in runs if c != MAIN}),
               "sensitive_to": flips}
    write_json(out_json, summary)
    return summary


def sensitivity_note(summary: dict) -> str:
    """The table note of a claim part: the choices that flip its verdict, or that none does."""
    if summary["sensitive_to"]:
        return "sensitive to: " + ", ".join(f"{f['choice']}={f['value']} ({f['verdict']})"
                                            for f in summary["sensitive_to"])
    return "not sensitive to the declared choices (" + ", ".join(summary["choices"]) + ")"
