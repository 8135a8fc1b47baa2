"""What each CLI subcommand does (cli.COMMANDS), called with the subcommand's options as
keywords. Each imports what it needs when it runs, so `--help` stays fast."""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("deeplimits")


def validate(configfile: str | None, overrides: list[str]) -> None:
    import yaml

    from .config import DEFAULT_CONFIG_PATH, load_config

    tree: dict = {}
    for item in overrides:
        key, _, value = item.partition("=")
        node, parts = tree, key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    yaml.safe_dump(load_config(configfile or DEFAULT_CONFIG_PATH, tree), sys.stdout, sort_keys=False)


def train(cell: str, settings: dict, data: str, out_dir: str, seed: int, device: str, no_cuda_graph: bool,
          no_progress: bool) -> None:
    from .cells import run_cell
    from .plan import Cell

    exp, ds, variant, depth = cell.split("/")
    cuda_graph = not no_cuda_graph and os.environ.get("DEEPLIMITS_CUDA_GRAPH", "1") != "0"
    run_cell(Cell(exp, ds, variant, int(depth.removeprefix("L"))), settings, data, out_dir, root_seed=seed,
             device=device, show_progress=not no_progress, cuda_graph=cuda_graph)


def analysis(analysis: str, settings: dict, inputs: dict, outputs: dict, **context) -> None:
    """Run one registered analysis on the paths its rule passes (every output it declares)."""
    from .registry import analysis_of

    a = analysis_of(analysis)
    missing = sorted(set(a.outputs) - set(outputs))
    if missing:
        raise KeyError(f"analysis {analysis}: --outputs lacks {', '.join(missing)} (the registry's outputs: "
                       f"{', '.join(a.outputs)})")
    a.run(settings, inputs, outputs, **context)


def claims_table(left_out: list[str], missing_note: str | None, **options) -> None:
    from .claims import build_table

    parts = []
    for item in left_out:
        cid, sep, label = item.partition(":")
        if not sep or not label:
            raise ValueError(f"--left-out {item!r}: expected CLAIM:LABEL, e.g. CRX.4:mnist_features")
        parts.append((cid, label))
    build_table(left_out=parts, **({"missing_note": missing_note} if missing_note else {}), **options)


def sensitivity(**options) -> None:
    from .sensitivity import write_sensitivity_table

    summary = write_sensitivity_table(**options)
    log.info("%s [%s]: %s", summary["claim"], summary["label"], summary["sensitive_to"] or "no verdict flips")


def notebook(parameters: list[str], **options) -> None:
    from .notebooks import run_notebook

    # Values are strings, as papermill's -p gives them; true/false become booleans.
    params = dict(item.split("=", 1) for item in parameters)
    run_notebook(parameters={k: v.lower() == "true" if v.lower() in ("true", "false") else v
                             for k, v in params.items()}, **options)


def bundle(scale_root: str, out: str) -> None:
    from .bundle import make_bundle

    log.info("bundled %d files into %s", len(make_bundle(scale_root, out)), out)


def unbundle(archive: str, dest: str) -> None:
    from .bundle import unpack_bundle

    log.info("unpacked %d files", len(unpack_bundle(archive, dest)))


def snapshot(**options) -> None:
    from .snapshot import make_snapshot

    manifest = make_snapshot(**options)
    log.info("snapshot of %d files in %s", len(manifest["files"]), options["out_dir"])


def verify_snapshot(snapshot: str) -> None:
    from .snapshot import verify_snapshot as verify

    log.info("snapshot %s: %d files match their manifest", snapshot, len(verify(snapshot)["files"]))


def restore_snapshot(snapshot: str, dest: str) -> None:
    from .snapshot import restore_snapshot as restore

    log.info("restored %d files of %s into %s", len(restore(snapshot, dest)), snapshot, dest)


def provenance(files: list[str], config: dict, logs: str | None, out: str) -> None:
    from .io import read_json, write_json
    from .provenance import provenance as record
    from .provenance import stage_wall_times, training_summary

    summary = training_summary([read_json(f) for f in files])
    stages = stage_wall_times(logs) if logs else {}
    write_json(out, record(config, **summary, wall_time_per_stage_s=stages))


def coverage(out: str) -> None:
    from .coverage import write_coverage_page

    table = write_coverage_page(out)
    log.info("coverage of %d (method, distribution, n) cases written to %s", len(table), out)


def docs() -> None:
    from .docs import write_docs

    for path in write_docs():
        log.info("wrote %s", path)


def record_run(results: str, logs: str, out: str) -> None:
    from .estimate import training_record
    from .io import write_json
    from .provenance import run_record

    record = run_record(results, logs)
    record.update(training_record(results))
    write_json(out, record)
    log.info("%s run: %d jobs over %.1f minutes, recorded in %s", record["scale"], record["jobs"],
             record["span_s"] / 60, out)


def estimate(config: list[str], target: str, out: str | None) -> None:
    """Jobs per rule and time per claim of the run `config` describes, before it starts."""
    from .config import DEFAULT_CONFIG_PATH, load_config
    from .estimate import dry_run_jobs, gpu_throughput, load_records, report
    from .estimate import estimate as estimate_jobs
    from .io import write_text

    cfg = load_config(DEFAULT_CONFIG_PATH, dict(kv.split("=", 1) for kv in config))
    records, gpu = load_records(), gpu_throughput()
    rows = estimate_jobs(cfg, dry_run_jobs(config, target),
                         [(r, load_config(DEFAULT_CONFIG_PATH, {"scale": r["scale"]})) for r in records], gpu)
    page = report(rows, max(r["cores"] for r in records), cfg["scale"], [r["scale"] for r in records], gpu)
    print(page)
    if out:
        write_text(out, page)


def compare(a: str, b: str, everything: bool, fmt: str, out: str | None, fail_on: str | None, rtol: float,
            exact: bool, names: list[str] | None) -> None:
    import dataclasses

    from .compare import compare as judged_diff
    from .compare import failed, load_replication, write_comparison

    ra, rb = load_replication(a), load_replication(b)
    if names:
        ra, rb = (dataclasses.replace(r, source=n) for r, n in zip((ra, rb), names))
    table = judged_diff(ra, rb, rtol=rtol, exact=exact)
    text = write_comparison(table, ra, rb, fmt, out, everything)
    if not out:
        sys.stdout.write(text)
    if failed(table, fail_on):
        raise RuntimeError(f"compare: {int((table.flag != '').sum())} rows flagged (--fail-on {fail_on})")
