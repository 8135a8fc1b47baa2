# Every analysis of the claim registry (deeplimits.registry.ANALYSES) as one rule, and once
# more per declared sensitivity choice (`<name>_sensitivity_run`) where its claim declares
# choices. The registry says what each reads and writes; deeplimits.plan.Plan turns that into
# paths for this run. Adding an analysis needs no edit here.

WILDCARDS = {"dataset": r"[a-z_]+", "run": r"[^/]+", "alpha": r"[^/]+"}


def analysis_log(a, run):
    parts = [a.name] + [f"{{{w}}}" for w in ("dataset", "alpha") if f"{{{w}}}" in str(a.outputs)]
    return f"{LOGS}/{a.paper}/{'_'.join(parts)}{'_{run}' if run else ''}.log"


def analysis_job(name, run):
    """The rule's input and params functions (closures, so that the loop's names stay bound)."""
    job = lambda w: dict(w.items())
    return dict(
        inputs=lambda w: PLAN.inputs(name, job(w).get("dataset"), job(w).get("run")),
        params=dict(
            settings=lambda w: as_arg(PLAN.settings(name, job(w), job(w).get("run"))),
            inputs=lambda w, input: as_arg({k: v if isinstance(v, str) else list(v) for k, v in input.items()}),
            outputs=lambda w, output: as_arg(dict(output.items())),
            label=lambda w: PLAN.label(name, job(w)),
        ),
    )


for _a in ANALYSES.values():
    for _run in [None] + (["{run}"] if _a.name in PLAN.sensitivity_analyses() else []):
        _job = analysis_job(_a.name, _run)

        rule:
            name:
                f"{_a.name}_sensitivity_run" if _run else _a.name
            input:
                unpack(_job["inputs"]),
            output:
                **PLAN.outputs(_a.name, _run),
            wildcard_constraints:
                **{w: c for w, c in WILDCARDS.items() if f"{{{w}}}" in str(PLAN.outputs(_a.name, _run))},
            params:
                **_job["params"],
                analysis=_a.name,
                torch_threads=_a.torch_threads,
                scale=SCALE,
                seed=CFG["seed"],
                device=PLAN.device,
            threads: max(1, _a.torch_threads)
            log:
                analysis_log(_a, _run),
            conda:
                ENV
            shell:
                "python -m deeplimits --log {log} --threads {params.torch_threads} analysis {params.analysis} "
                "--settings {params.settings} --inputs {params.inputs} --outputs {params.outputs} "
                "--scale {params.scale} --seed {params.seed} --label '{params.label}' --device {params.device}"
