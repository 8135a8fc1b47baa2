# The replication table, the sensitivity tables it reads, and the run's provenance.


# One table per claim part that declares sensitivity choices (SENSITIVITY_TABLES, common.smk):
# the main claim beside one run per declared value, and which runs flip its verdict.
rule sensitivity:
    input:
        main=lambda w: f"{ROOT}/{SENSITIVITY_TABLES[w.table][0]}",
        runs=lambda w: sensitivity_runs_of(w.table),
    output:
        csv=report(f"{ROOT}/{{table}}.csv", caption="../report/sensitivity.rst", category="Sensitivity"),
        json=f"{ROOT}/{{table}}.json",
    wildcard_constraints:
        table="|".join(re.escape(t) for t in SENSITIVITY_TABLES) or "(?!)",
    log:
        f"{LOGS}/sensitivity/{{table}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} sensitivity --main {input.main} --runs {input.runs} "
        "--out-csv {output.csv} --out-json {output.json}"


rule claims_table:
    input:
        claims=claim_files(),
        sensitivity=sensitivity_files(),
    output:
        csv=report(
            f"{ROOT}/replication/claims.csv",
            caption="../report/claims.rst",
            category="Replication table",
        ),
        md=f"{ROOT}/replication/claims.md",
    params:
        scale=SCALE,
        missing="",
    log:
        f"{LOGS}/replication/claims.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} claims {input.claims} --sensitivity {input.sensitivity} "
        "--scale {params.scale} --out-csv {output.csv} --out-md {output.md} {params.missing}"


use rule claims_table as claims_table_cpu with:
    # The claims whose paper scale a CPU can run (see CLAIMS in common.smk): a partial
    # table, named as such, for machines without a GPU.
    input:
        claims=claim_files(cpu_only=True),
        sensitivity=sensitivity_files(cpu_only=True),
    output:
        csv=f"{ROOT}/replication/claims_cpu.csv",
        md=f"{ROOT}/replication/claims_cpu.md",
    params:
        scale=SCALE,
        missing=" ".join([f"--missing-note {shlex.quote(CPU_TABLE_NOTE)}"]
                         + [f"--left-out {part}" for part in CPU_LEFT_OUT_PARTS]),
    log:
        f"{LOGS}/replication/claims_cpu.log",


rule provenance:
    # Last of the run: it reads every rule's log for the wall time per stage.
    input:
        cells=[f"{d}/provenance.json" for e in ("hz2", "hz4", "xz4", "crx1", "crx3", "crx4") for d in cell_dirs(e)]
        + [f"{d}/provenance.json" for e in ("hz4", "crx4") for name in sensitivity_names(e) if "=" in name
           for d in sensitivity_dirs(e, name)],
        table=f"{ROOT}/replication/claims.csv",
        notebooks=expand(f"{ROOT}/notebooks/{{paper}}.html", paper=NOTEBOOK_PAPERS),
    output:
        report(f"{ROOT}/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    params:
        # Everything but the progress switch, which changes no result.
        config=as_arg({k: v for k, v in CFG.items() if k != "progress"}),
        logs=LOGS,
    log:
        f"{LOGS}/provenance.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} provenance {input.cells} --config {params.config} "
        "--logs {params.logs} --out {output}"
