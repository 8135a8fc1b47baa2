"""What moved between two replications, judged: `python -m deeplimits compare A B`.

A and B are each a results folder (results/<scale>), a bundle (`make bundle`, .tar.gz) or a
snapshot (artifacts/paper-cpu). Their claim files are read (sensitivity runs left out) and
compared part by part (a claim, or a claim's dataset):

- the verdict in A and in B, flagged `verdict` when it changed;
- every number of the part (`values.measures`) by name: flagged `moved` when the two
  intervals do not overlap (each is a 95% interval of its own run, so intervals that do not
  overlap differ beyond what either run's draws allow); a deterministic number (no interval)
  when it differs by more than `rtol` relative to the larger of the two;
- with `exact` (same seeds, same code: the CI gate), every number is compared by `rtol`
  alone, intervals ignored;
- a claim, part or number present on one side only is flagged `only in A` / `only in B`.
A scale mismatch is refused; a damaged claim file is named.
"""

from __future__ import annotations

import json
import math
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .data.download import safe_extract_tar
from .io import write_text
from .uncertainty import DETERMINISTIC

# Flags, from the most to the least serious (a row keeps its most serious one).
FLAGS = ("verdict", "moved", "only in A", "only in B", "")
COLUMNS = ["claim", "part", "number", "verdict_a", "verdict_b", "value_a", "interval_a", "value_b", "interval_b",
           "flag", "why"]
DEFAULT_RTOL = 1e-6


@dataclass(frozen=True)
class Replication:
    """The claim parts of one replication: (claim, label) -> its claim file's record."""

    source: str
    scale: str
    parts: dict


def claim_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("claim*.json")
                  if "sensitivity" not in p.relative_to(root).parts and p.parent.name != "replication")


def _read_part(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
        return {"claim": record["claim"], "label": record.get("label", ""), "scale": record["scale"],
                "verdict": record["verdict"], "measures": record["values"]["measures"]}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"damaged or half-written claim file {path}: {err}") from None


def _scale_root(folder: Path) -> Path:
    """The folder holding the claim files: folder itself, or the one results/<scale> in it."""
    if claim_files(folder) and not list(folder.glob("results/*")):
        return folder
    roots = sorted(p for p in folder.glob("**/results/*") if p.is_dir() and claim_files(p))
    if len(roots) != 1:
        raise ValueError(f"{folder}: expected one results/<scale> folder with claim files, found "
                         f"{[str(r) for r in roots] or 'none'}")
    return roots[0]


def load_replication(source: str | Path, unpack_to: str | Path | None = None) -> Replication:
    """A results folder, a snapshot folder or a bundle archive (unpacked into `unpack_to`)."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"compare: {source} does not exist")
    if source.is_file():
        if not tarfile.is_tarfile(source):
            raise ValueError(f"compare: {source} is neither a folder nor a bundle (.tar.gz)")
        dest = Path(unpack_to or tempfile.mkdtemp(prefix="deeplimits-compare-"))
        safe_extract_tar(source, dest)
        root = _scale_root(dest)
    else:
        root = _scale_root(source)
    files = claim_files(root)
    if not files:
        raise ValueError(f"compare: no claim files under {root}")
    parts = {}
    for f in files:
        rec = _read_part(f)
        parts[(rec["claim"], rec["label"])] = rec
    scales = {rec["scale"] for rec in parts.values()}
    if len(scales) != 1:
        raise ValueError(f"compare: {source} mixes scales {sorted(scales)}")
    return Replication(str(source), scales.pop(), parts)


def _interval(m: dict) -> str:
    if m["method"] == DETERMINISTIC or m["lo"] == m["hi"]:
        return "deterministic"
    return f"[{m['lo']:.4g}, {m['hi']:.4g}]"


def _finite(*xs) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def number_moved(a: dict, b: dict, rtol: float, exact: bool) -> str:
    """Why number a (run A) and number b (run B) differ beyond what they allow, or ""."""
    va, vb = a["value"], b["value"]
    if not _finite(va, vb):
        return "" if (va == vb or (va != va and vb != vb)) else "one value is not finite"
    deterministic = exact or _interval(a) == "deterministic" or _interval(b) == "deterministic"
    if deterministic:
        scale = max(abs(va), abs(vb))
        return f"relative difference {abs(va - vb) / scale:.2g} > {rtol:g}" if abs(va - vb) > rtol * scale else ""
    if not _finite(a["lo"], a["hi"], b["lo"], b["hi"]):
        return ""  # an interval without bounds overlaps everything
    if a["hi"] < b["lo"] or b["hi"] < a["lo"]:
        return "the 95% intervals do not overlap"
    return ""


def compare(a: Replication, b: Replication, rtol: float = DEFAULT_RTOL, exact: bool = False) -> pd.DataFrame:
    """One row per claim part (number "") and per number of it, flagged as the module says."""
    if a.scale != b.scale:
        raise ValueError(f"compare: scale {a.scale!r} ({a.source}) against scale {b.scale!r} ({b.source}): "
                         "compare runs of one scale")
    rows = []
    for key in sorted(set(a.parts) | set(b.parts)):
        pa, pb = a.parts.get(key), b.parts.get(key)
        claim, label = key
        base = {"claim": claim, "part": label, "verdict_a": pa["verdict"] if pa else "",
                "verdict_b": pb["verdict"] if pb else ""}
        if pa is None or pb is None:
            rows.append({**base, "number": "", "flag": "only in B" if pa is None else "only in A",
                         "why": "claim part missing on one side"})
            continue
        changed = pa["verdict"] != pb["verdict"]
        rows.append({**base, "number": "", "flag": "verdict" if changed else "",
                     "why": f"{pa['verdict']} -> {pb['verdict']}" if changed else ""})
        ma, mb = ({m["name"]: m for m in p["measures"]} for p in (pa, pb))
        for name in list(dict.fromkeys([*ma, *mb])):
            row = {**base, "number": name}
            for side, m in (("a", ma.get(name)), ("b", mb.get(name))):
                row[f"value_{side}"] = m["value"] if m else None
                row[f"interval_{side}"] = _interval(m) if m else ""
            if name not in ma or name not in mb:
                row.update(flag="only in B" if name not in ma else "only in A", why="number missing on one side")
            else:
                why = number_moved(ma[name], mb[name], rtol, exact)
                row.update(flag="moved" if why else "", why=why)
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def to_markdown(table: pd.DataFrame, a: Replication, b: Replication, everything: bool = False) -> str:
    shown = table if everything else table[table.flag != ""]
    head = [f"# Compared: {a.source} (A) and {b.source} (B), scale {a.scale}", "",
            f"{int((table.flag == 'verdict').sum())} verdicts changed, {int((table.flag == 'moved').sum())} numbers "
            f"moved beyond their intervals, {int(table.flag.str.startswith('only').sum())} on one side only.", ""]
    if shown.empty:
        return "\n".join(head + ["Nothing moved."]) + "\n"

    def cell(x):
        if isinstance(x, float):
            return "" if math.isnan(x) else f"{x:.4g}"
        return str(x if x is not None else "").replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c]) for c in COLUMNS) + " |" for r in shown.to_dict(orient="records")]
    return "\n".join(head + lines) + "\n"


def write_comparison(table: pd.DataFrame, a: Replication, b: Replication, fmt: str, out: str | None,
                     everything: bool = False) -> str:
    if fmt == "md":
        text = to_markdown(table, a, b, everything)
    elif fmt == "csv":
        text = (table if everything else table[table.flag != ""]).to_csv(index=False)
    elif fmt == "json":
        text = json.dumps({"a": a.source, "b": b.source, "scale": a.scale,
                           "rows": (table if everything else table[table.flag != ""]).to_dict(orient="records")},
                          indent=1, default=str) + "\n"
    else:
        raise ValueError(f"--format {fmt!r}: use md, csv or json")
    if out:
        write_text(out, text)
    return text


def failed(table: pd.DataFrame, fail_on: str | None) -> bool:
    """Whether the comparison fails its gate: `verdict` (a verdict changed) or `moved` (a
    verdict changed, a number moved, or a part or number is on one side only)."""
    if fail_on is None:
        return False
    if fail_on == "verdict":
        return bool((table.flag == "verdict").any())
    if fail_on == "moved":
        return bool((table.flag != "").any())
    raise ValueError(f"--fail-on {fail_on!r}: use verdict or moved")
