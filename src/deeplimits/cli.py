"""Command line: one subcommand per pipeline step, so every Snakemake rule is a thin call.

    python -m deeplimits validate [--configfile config.yaml] [--set scale=smoke ...]
    python -m deeplimits data NAME --settings JSON --out PATH
    python -m deeplimits train CELL --settings JSON --data PATH --out-dir DIR
    python -m deeplimits analyse NAME --settings JSON --inputs JSON --outputs JSON --scale S
    python -m deeplimits claims --scale S --out-csv F --out-md F CLAIM_FILES...
    python -m deeplimits provenance --config JSON --out F CELL_PROVENANCE_FILES...
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

import yaml

log = logging.getLogger("deeplimits")


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON: {err}") from err


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deeplimits", description=__doc__.splitlines()[0])
    p.add_argument("--log", help="also write the log to this file")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="validate a config and print it resolved for its scale")
    v.add_argument("--configfile", default=None)
    v.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key (dotted path), as snakemake --config does")

    d = sub.add_parser("data", help="prepare one dataset")
    d.add_argument("name")
    d.add_argument("--settings", type=_json, required=True, help="the config's data section (JSON)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", required=True)

    t = sub.add_parser("train", help="train every seed of one cell")
    t.add_argument("cell", help="experiment/dataset/variant/L<depth>")
    t.add_argument("--settings", type=_json, required=True)
    t.add_argument("--data", required=True)
    t.add_argument("--out-dir", required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--no-cuda-graph", action="store_true",
                   help="train eagerly on a GPU too (also set by DEEPLIMITS_CUDA_GRAPH=0)")
    t.add_argument("--no-progress", action="store_true")

    from .registry import ANALYSES

    a = sub.add_parser("analyse", help="run one analysis of the registry (registry.py)")
    a.add_argument("analysis", choices=list(ANALYSES))
    a.add_argument("--settings", type=_json, required=True, help="the experiment's settings (JSON)")
    a.add_argument("--inputs", type=_json, required=True, help="input name -> path or list of paths (JSON)")
    a.add_argument("--outputs", type=_json, required=True, help="output name -> path (JSON), as the registry names them")
    a.add_argument("--scale", required=True)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--label", default="", help="the part of a claim this run measures (a dataset)")
    a.add_argument("--device", default="cpu")

    c = sub.add_parser("claims", help="gather claim files into the replication table")
    c.add_argument("files", nargs="*")
    c.add_argument("--scale", required=True)
    c.add_argument("--out-csv", required=True)
    c.add_argument("--out-md", required=True)
    c.add_argument("--out-rst", help="also write the report's landing-page table (reStructuredText)")
    c.add_argument("--missing-note", help="why claims without a file are not run (default: no analysis yet)")
    c.add_argument("--pending", action="append", default=[], metavar="CLAIM",
                   help="a claim of this table whose results do not exist yet (its row says so)")
    c.add_argument("--left-out", action="append", default=[], metavar="CLAIM:LABEL",
                   help="a part of a claim left out of this table (its note then says so)")
    c.add_argument("--sensitivity", nargs="*", default=[], metavar="SENSITIVITY_JSON",
                   help="sensitivity summaries: a claim's note names the choices that flip its verdict")

    st = sub.add_parser("sensitivity", help="gather a claim's sensitivity runs into sensitivity.csv and .json")
    st.add_argument("--main", required=True, help="the main setting's claim file")
    st.add_argument("--runs", nargs="*", default=[], help="claim files of the runs, in folders <choice>=<value>")
    st.add_argument("--out-csv", required=True)
    st.add_argument("--out-json", required=True)

    n = sub.add_parser("notebook", help="execute a parameterised notebook (papermill) and export HTML")
    n.add_argument("input")
    n.add_argument("output")
    n.add_argument("--html", required=True)
    n.add_argument("--figures", nargs="*", default=[], help="figures the notebook must draw")
    n.add_argument("-p", dest="params", action="append", default=[], metavar="KEY=VALUE")

    b = sub.add_parser("bundle", help="pack a scale's analysis results (no weights) into an archive")
    b.add_argument("scale_root")
    b.add_argument("--out", required=True)
    u = sub.add_parser("unbundle", help="unpack a results bundle")
    u.add_argument("archive")
    u.add_argument("--dest", default=".")

    sn = sub.add_parser("snapshot", help="copy analysis results (text) into a checksummed snapshot")
    sn.add_argument("scale_root", help="e.g. results/paper")
    sn.add_argument("paths", nargs="+", help="files or folders under scale_root")
    sn.add_argument("--out", required=True, help="e.g. artifacts/paper-cpu")
    sn.add_argument("--note", default="")
    vs = sub.add_parser("verify-snapshot", help="check a snapshot's files against its manifest")
    vs.add_argument("snapshot")
    rs = sub.add_parser("restore-snapshot", help="copy a verified snapshot into a scale's results folder")
    rs.add_argument("snapshot")
    rs.add_argument("--dest", required=True, help="e.g. results/paper")

    r = sub.add_parser("provenance", help="summarise a run's provenance")
    r.add_argument("files", nargs="*")
    r.add_argument("--config", type=_json, required=True)
    r.add_argument("--logs", help="the run's log folder: wall time per stage is read from it")
    r.add_argument("--out", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .logs import setup_logging

    setup_logging(args.log)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        _dispatch(args)
    except Exception as err:  # noqa: BLE001 - report, log, and exit non-zero
        log.error("%s failed: %s", args.command, err)
        if not isinstance(err, (ValueError, KeyError, FileNotFoundError, RuntimeError)):
            log.exception("traceback")
        return 1
    log.info("%s done in %.1f s", args.command, time.perf_counter() - t0)
    return 0


def _dispatch(args) -> None:
    if args.command == "validate":
        from .config import DEFAULT_CONFIG_PATH, load_config

        overrides: dict = {}
        for item in args.set:
            key, _, value = item.partition("=")
            node = overrides
            parts = key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = yaml.safe_load(value)
        cfg = load_config(args.configfile or DEFAULT_CONFIG_PATH, overrides)
        yaml.safe_dump(cfg, sys.stdout, sort_keys=False)
    elif args.command == "data":
        from .data.prepare import prepare_dataset

        prepare_dataset(args.name, args.settings, args.seed, args.out)
    elif args.command == "train":
        from .cells import run_cell
        from .plan import Cell

        exp, ds, variant, depth = args.cell.split("/")
        cell = Cell(exp, ds, variant, int(depth.removeprefix("L")))
        run_cell(cell, args.settings, args.data, args.out_dir, root_seed=args.seed,
                 device=args.device, show_progress=not args.no_progress, cuda_graph=not args.no_cuda_graph and os.environ.get("DEEPLIMITS_CUDA_GRAPH", "1") != "0")
    elif args.command == "analyse":
        _analyse(args)
    elif args.command == "claims":
        from .claims import build_table

        note = {"missing_note": args.missing_note} if args.missing_note else {}
        left_out = []
        for item in args.left_out:
            cid, sep, label = item.partition(":")
            if not sep or not label:
                raise ValueError(f"--left-out {item!r}: expected CLAIM:LABEL, e.g. CRX.4:mnist_features")
            left_out.append((cid, label))
        build_table(args.files, args.scale, args.out_csv, args.out_md, left_out=left_out,
                    sensitivity_files=args.sensitivity, out_rst=args.out_rst, pending=args.pending, **note)
    elif args.command == "sensitivity":
        from .sensitivity import sensitivity_table

        summary = sensitivity_table(args.main, args.runs, args.out_csv, args.out_json)
        log.info("%s [%s]: %s", summary["claim"], summary["label"], summary["sensitive_to"] or "no verdict flips")
    elif args.command == "notebook":
        from .notebooks import run_notebook

        params = dict(item.split("=", 1) for item in args.params)
        # Values are strings, as papermill's -p gives them; true/false become booleans.
        params = {k: v.lower() == "true" if v.lower() in ("true", "false") else v for k, v in params.items()}
        run_notebook(args.input, args.output, args.html, params, figures=args.figures)
    elif args.command == "bundle":
        from .bundle import make_bundle

        log.info("bundled %d files into %s", len(make_bundle(args.scale_root, args.out)), args.out)
    elif args.command == "unbundle":
        from .bundle import unpack_bundle

        log.info("unpacked %d files", len(unpack_bundle(args.archive, args.dest)))
    elif args.command == "snapshot":
        from .snapshot import make_snapshot

        manifest = make_snapshot(args.scale_root, args.paths, args.out, note=args.note)
        log.info("snapshot of %d files in %s", len(manifest["files"]), args.out)
    elif args.command == "verify-snapshot":
        from .snapshot import verify_snapshot

        log.info("snapshot %s: %d files match their manifest", args.snapshot, len(verify_snapshot(args.snapshot)["files"]))
    elif args.command == "restore-snapshot":
        from .snapshot import restore_snapshot

        log.info("restored %d files of %s into %s", len(restore_snapshot(args.snapshot, args.dest)), args.snapshot,
                 args.dest)
    elif args.command == "provenance":
        from .io import read_json, write_json
        from .provenance import provenance, stage_wall_times, training_summary

        summary = training_summary([read_json(f) for f in args.files])
        stages = stage_wall_times(args.logs) if args.logs else {}
        write_json(args.out, provenance(args.config, **summary, wall_time_per_stage_s=stages))


def _analyse(args) -> None:
    from .registry import analysis_of

    analysis = analysis_of(args.analysis)
    missing = sorted(set(analysis.outputs) - set(args.outputs))
    if missing:
        raise KeyError(f"analyse {args.analysis}: --outputs lacks {', '.join(missing)} (the registry's outputs: "
                       f"{', '.join(analysis.outputs)})")
    analysis.run(args.settings, args.inputs, args.outputs, scale=args.scale, seed=args.seed, label=args.label,
                 device=args.device)
