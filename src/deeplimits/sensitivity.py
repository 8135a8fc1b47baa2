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
from .plan import MAIN_TO
from .uncertainty import NOT_FITTED

COLUMNS = ["claim", "label", "choice", "value", "measure", "measured", "lo", "hi", "method", "band_lo", "band_hi",
           "measure_verdict", "verdict", "depths"]
# Runs named main_to_<depth> (plan.MAIN_TO) are the main setting over a smaller grid: the
# reference of the runs limited to that grid.
MAIN = "main"


def run_name(claim_file: str | Path) -> tuple[str, str]:
    """(choice, value) of a run from its folder name: `<choice>=<value>`, or `main_to_<depth>`
    -> ('main', 'depths <= <depth>')."""
    name = Path(claim_file).parent.name
    if name.startswith(MAIN_TO):
        return MAIN, f"depths <= {name.removeprefix(MAIN_TO)}"
    choice, sep, value = name.partition("=")
    if not sep:
        raise ValueError(f"{claim_file}: a sensitivity run's folder is named <choice>=<value> or {MAIN_TO}<depth>")
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


def write_sensitivity_table(main_file, run_files, out_csv, out_json) -> dict:
    """The main claim (choice 'main setting') and its sensitivity runs in one table. Each run is
    compared with the main setting over the same depths: the `main_to_<depth>` run whose
    depths match, else the main claim itself."""
    main = json.loads(Path(main_file).read_text())
    rows = _rows(main, "main setting", "")
    runs, references = [], {_depths(main): main["verdict"]}
    measure_records = {_depths(main): main.get("values", {}).get("measures", [])}
    for f in run_files:
        choice, value = run_name(f)
        record = json.loads(Path(f).read_text())
        rows += _rows(record, choice, value)
        if choice == MAIN:
            references[_depths(record)] = record["verdict"]
            measure_records[_depths(record)] = record.get("values", {}).get("measures", [])
        else:
            runs.append((choice, value, record))
    flips, measure_flips = [], []
    for choice, value, record in runs:
        reference = references.get(_depths(record), main["verdict"])
        if record["verdict"] != reference:
            flips.append({"choice": choice, "value": value, "verdict": record["verdict"], "reference": reference,
                          "depths": _depths(record)})
        # A judged number whose own verdict changes, even where the claim's does not.
        base = {m["name"]: m["verdict"] for m in measure_records.get(_depths(record), [])}
        for m in record.get("values", {}).get("measures", []):
            if m["name"] in base and m["verdict"] != base[m["name"]]:
                # A law the run could not fit (R4) is inconclusive for that reason; say so.
                verdict = f"{m['verdict']} (not fitted)" if m.get("method", "").startswith(NOT_FITTED) else m["verdict"]
                measure_flips.append({"choice": choice, "value": value, "measure": m["name"],
                                      "verdict": verdict, "reference": base[m["name"]]})
    write_csv(out_csv, pd.DataFrame(rows, columns=COLUMNS))
    summary = {"claim": main["claim"], "label": main.get("label", ""), "main_verdict": main["verdict"],
               "choices": sorted({c for c, _, _ in runs}), "sensitive_to": flips, "measures_sensitive_to": measure_flips}
    write_json(out_json, summary)
    return summary


def _depths(record: dict) -> str:
    return str(record.get("values", {}).get("depths", ""))


def sensitivity_note(summary: dict) -> str:
    """The table note of a claim part: the choices that flip its verdict (or that none does),
    and the judged numbers whose own verdict a choice flips."""
    if summary["sensitive_to"]:
        note = "sensitive to: " + ", ".join(f"{f['choice']}={f['value']} ({f['verdict']} vs {f['reference']})"
                                            for f in summary["sensitive_to"])
    else:
        note = "verdict not sensitive to the declared choices (" + ", ".join(summary["choices"]) + ")"
    numbers = summary.get("measures_sensitive_to", [])
    if numbers:
        note += "; numbers that flip: " + ", ".join(f"{f['measure']} {f['verdict']} under {f['choice']}={f['value']}"
                                                     for f in numbers)
    return note
