"""Command line: one subcommand per pipeline step, so every Snakemake rule is a thin call.

    python -m deeplimits validate [--configfile config.yaml] [--set scale=smoke ...]
    python -m deeplimits data NAME --settings JSON --out PATH
    python -m deeplimits train CELL --settings JSON --data PATH --out-dir DIR
    python -m deeplimits analysis NAME --settings JSON --inputs JSON --outputs JSON --scale S
    python -m deeplimits claims_table --scale S --out-csv F --out-md F CLAIM_FILES...
    python -m deeplimits provenance --config JSON --out F CELL_PROVENANCE_FILES...
    python -m deeplimits compare A B [--format md|csv|json] [--fail-on verdict|moved]

Each subcommand is a row of COMMANDS: its help, its options (each spelled once, here), and
the function that runs it with the options as keywords.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import time

log = logging.getLogger("deeplimits")


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON: {err}") from err


def arg(*names, **kw):
    return names, kw


JSON = {"type": _json, "required": True}
OUT = arg("--out", required=True)
# name -> (help, "module:function" under deeplimits (called with the options as keywords), options)
COMMANDS = {
    "validate": ("validate a config and print it resolved for its scale", "commands:validate", [
        arg("--configfile", default=None),
        arg("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
            help="override a key (dotted path), as snakemake --config does")]),
    "data": ("prepare one dataset", "data.prepare:prepare_dataset", [
        arg("name"), arg("--settings", dest="data_cfg", help="the config's data section (JSON)", **JSON),
        arg("--seed", type=int, default=0), OUT]),
    "train": ("train every seed of one cell", "commands:train", [
        arg("cell", help="experiment/dataset/variant/L<depth>"), arg("--settings", **JSON),
        arg("--data", required=True), arg("--out-dir", required=True), arg("--seed", type=int, default=0),
        arg("--device", default="auto"),
        arg("--no-cuda-graph", action="store_true", help="train eagerly on a GPU too (also DEEPLIMITS_CUDA_GRAPH=0)"),
        arg("--no-progress", action="store_true")]),
    "analysis": ("run one analysis of the registry (registry.py)", "commands:analysis", [
        arg("analysis"), arg("--settings", help="the experiment's settings (JSON)", **JSON),
        arg("--inputs", help="input name -> path or list of paths (JSON)", **JSON),
        arg("--outputs", help="output name -> path (JSON), as the registry names them", **JSON),
        arg("--scale", required=True), arg("--seed", type=int, default=0),
        arg("--label", default="", help="the part of a claim this run measures (a dataset)"),
        arg("--device", default="cpu")]),
    "claims_table": ("gather claim files into the replication table", "commands:claims_table", [
        arg("claim_files", nargs="*"), arg("--scale", required=True), arg("--out-csv", required=True),
        arg("--out-md", required=True), arg("--out-rst", help="also write the report's landing-page table"),
        arg("--missing-note", help="why claims without a file are not run (default: no analysis yet)"),
        arg("--pending", action="append", default=[], metavar="CLAIM",
            help="a claim of this table whose results do not exist yet (its row says so)"),
        arg("--left-out", action="append", default=[], metavar="CLAIM:LABEL",
            help="a part of a claim left out of this table (its note then says so)"),
        arg("--sensitivity", dest="sensitivity_files", nargs="*", default=[], metavar="SENSITIVITY_JSON",
            help="sensitivity summaries: a claim's note names the choices that flip its verdict")]),
    "sensitivity": ("gather a claim's sensitivity runs into a table (.csv and .json)", "commands:sensitivity", [
        arg("--main", dest="main_file", required=True, help="the main setting's claim file"),
        arg("--runs", dest="run_files", nargs="*", default=[], help="claim files of the runs, in folders <choice>=<value>"),
        arg("--out-csv", required=True), arg("--out-json", required=True)]),
    "notebook": ("execute a parameterised notebook (papermill) and export HTML", "commands:notebook", [
        arg("source"), arg("executed"), arg("--html", required=True),
        arg("--figures", nargs="*", default=[], help="figures the notebook must draw"),
        arg("-p", dest="parameters", action="append", default=[], metavar="KEY=VALUE")]),
    "bundle": ("pack a scale's analysis results (no weights) into an archive", "commands:bundle", [
        arg("scale_root"), OUT]),
    "unbundle": ("unpack a results bundle", "commands:unbundle", [arg("archive"), arg("--dest", default=".")]),
    "snapshot": ("copy analysis results (text) into a checksummed snapshot", "commands:snapshot", [
        arg("scale_root", help="e.g. results/paper"), arg("paths", nargs="+", help="files or folders under scale_root"),
        arg("--out", dest="out_dir", required=True, help="e.g. artifacts/paper-cpu"), arg("--note", default=""),
        arg("--claims-only", action="store_true", help="the claim files alone (the smoke reference)")]),
    "verify-snapshot": ("check a snapshot's files against its manifest", "commands:verify_snapshot", [
        arg("snapshot")]),
    "restore-snapshot": ("copy a verified snapshot into a scale's results folder", "commands:restore_snapshot", [
        arg("snapshot"), arg("--dest", required=True, help="e.g. results/paper")]),
    "compare": ("what moved between two replications (results folder, bundle or snapshot)", "commands:compare", [
        arg("a"), arg("b"), arg("--all", dest="everything", action="store_true", help="every row, not only changes"),
        arg("--format", dest="fmt", choices=["md", "csv", "json"], default="md"), arg("--out"),
        arg("--fail-on", choices=["verdict", "moved"], help="exit non-zero on a changed verdict / anything moved"),
        arg("--rtol", type=float, default=1e-6, help="relative tolerance of deterministic numbers"),
        arg("--exact", action="store_true", help="compare every number by --rtol (same seeds, same code)"),
        arg("--names", nargs=2, metavar=("A", "B"), help="how A and B are named in the output (default: their paths)")]),
    "docs": ("write the generated docs pages (claim cards, status, benchmarks) from result files", "commands:docs", []),
    "coverage": ("simulate each interval method's coverage and write its docs page", "commands:coverage", [
        arg("--out", default="docs/interval-coverage.md")]),
    "provenance": ("summarise a run's provenance", "commands:provenance", [
        arg("files", nargs="*"), arg("--config", **JSON),
        arg("--logs", help="the run's log folder: wall time per stage is read from it"), OUT]),
    "estimate": ("a run's jobs per rule and CPU and GPU time per claim, before it starts", "commands:estimate", [
        arg("--config", nargs="*", default=[], metavar="KEY=VALUE", help="as snakemake's, e.g. scale=paper"),
        arg("--target", default="", help="a Snakemake target (default: the whole run)"), arg("--out")]),
    "record-run": ("record a finished run's span, jobs and times (artifacts/runs/<scale>.json)", "commands:record_run", [
        arg("results", help="e.g. results/quick"), arg("--logs", required=True, help="e.g. logs/quick"), OUT]),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deeplimits", description=__doc__.splitlines()[0])
    p.add_argument("--log", help="also write the log to this file")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_text, function, options) in COMMANDS.items():
        s = sub.add_parser(name, help=help_text)
        for names, kw in options:
            s.add_argument(*names, **kw)
        s.set_defaults(func=function)
    return p


def _function(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"deeplimits.{module}"), name)


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    from .logs import setup_logging

    setup_logging(args.pop("log"))
    threads, command, function = args.pop("threads"), args.pop("command"), args.pop("func")
    if threads:
        import torch

        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    try:
        _function(function)(**args)
    except Exception as err:  # noqa: BLE001 - report, log, and exit non-zero
        log.error("%s failed: %s", command, err)
        if not isinstance(err, (ValueError, KeyError, FileNotFoundError, RuntimeError)):
            log.exception("traceback")
        return 1
    log.info("%s done in %.1f s", command, time.perf_counter() - t0)
    return 0
