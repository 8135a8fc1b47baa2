# The papers' notebooks, the replication table, the sensitivity tables it reads, and the
# run's provenance.


# One executed notebook per paper: it reads every output of the paper's analyses and draws
# the figures the registry names for its claims (the notebook command checks each is there).
rule notebook:
    input:
        # Relative to the working directory, so that no machine path shows in the report.
        notebook=os.path.relpath(REPO / "notebooks" / "{paper}.ipynb"),
        results=lambda w: PLAN.paper_inputs(w.paper),
    output:
        notebook=f"{ROOT}/notebooks/{{paper}}.ipynb",
        html=report(
            f"{ROOT}/notebooks/{{paper}}.html",
            caption="../report/notebook.rst",
            category=lambda w: PAPERS[w.paper],
            subcategory="Executed notebook",
        ),
        figures=report(
            directory(f"{ROOT}/figures/{{paper}}"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category=lambda w: PAPERS[w.paper],
        ),
        table=f"{ROOT}/tables/{{paper}}.csv",
    wildcard_constraints:
        paper="|".join(PAPERS),
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=NOTEBOOK_REFERENCE,
        datasets=lambda w: ",".join(PLAN.paper_datasets(w.paper)),
        figures=lambda w: " ".join(PLAN.notebook_figures(w.paper)),
        cpu_only=CPU_ONLY,
        caption=lambda w: paper_caption(w.paper),
        # Each figure's own caption: what it plots and what its claim expects.
        captions=lambda w: figure_captions(w.paper, PLAN.paper_datasets(w.paper)),
    log:
        f"{LOGS}/notebooks/{{paper}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} --figures {params.figures} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference} -p datasets={params.datasets} -p cpu_only={params.cpu_only}"


# One table per claim part that declares sensitivity choices (Plan.sensitivity_tables):
# the main claim beside one run per declared value, and which runs flip its verdict.
rule sensitivity:
    input:
        main=lambda w: f"{ROOT}/{PLAN.sensitivity_tables[w.table][0]}",
        runs=lambda w: PLAN.sensitivity_runs_of(w.table),
    output:
        csv=report(f"{ROOT}/{{table}}.csv", caption="../report/sensitivity.rst", category="Sensitivity"),
        json=f"{ROOT}/{{table}}.json",
    wildcard_constraints:
        table="|".join(re.escape(t) for t in PLAN.sensitivity_tables) or "(?!)",
    log:
        f"{LOGS}/sensitivity/{{table}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} sensitivity --main {input.main} --runs {input.runs} "
        "--out-csv {output.csv} --out-json {output.json}"


rule claims_table:
    input:
        claims=PLAN.claim_files(),
        sensitivity=PLAN.sensitivity_files(),
    output:
        csv=report(
            f"{ROOT}/replication/claims.csv",
            caption="../report/claims.rst",
            category="Replication table",
        ),
        md=f"{ROOT}/replication/claims.md",
        rst=f"{ROOT}/replication/claims.rst",
    params:
        scale=SCALE,
        missing=" ".join(f"--pending {c}" for c in PLAN.pending_claims()),
    log:
        f"{LOGS}/replication/claims.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} claims_table {input.claims} --sensitivity {input.sensitivity} "
        "--scale {params.scale} --out-csv {output.csv} --out-md {output.md} --out-rst {output.rst} {params.missing}"


use rule claims_table as claims_table_cpu with:
    # The claims whose paper scale a CPU can run (Plan.claim_files): a partial
    # table, named as such, for machines without a GPU.
    input:
        claims=PLAN.claim_files(cpu_only=True),
        sensitivity=PLAN.sensitivity_files(cpu_only=True),
    output:
        csv=f"{ROOT}/replication/claims_cpu.csv",
        md=f"{ROOT}/replication/claims_cpu.md",
        rst=f"{ROOT}/replication/claims_cpu.rst",
    params:
        scale=SCALE,
        missing=" ".join([f"--missing-note {shlex.quote(CPU_TABLE_NOTE)}"]
                         + [f"--left-out {part}" for part in PLAN.cpu_left_out_parts()]
                         + [f"--pending {c}" for c in PLAN.pending_claims(cpu_only=True)]),
    log:
        f"{LOGS}/replication/claims_cpu.log",


rule provenance:
    # Last of the run: it reads every rule's log for the wall time per stage.
    input:
        cells=PLAN.run_cell_provenance(),
        table=f"{TABLE}.csv",
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


# At paper scale, a CPU-table run against the committed snapshot: what moved, claim by claim
# (`python -m deeplimits compare`), as a section of the report.
SNAPSHOT = REPO / "artifacts" / "paper-cpu"
COMPARED = f"{ROOT}/replication/compared_with_snapshot.md"


rule compare_snapshot:
    input:
        table=f"{ROOT}/replication/claims_cpu.csv",
        snapshot=str(SNAPSHOT / "MANIFEST.json"),
    output:
        compared=report(COMPARED, caption="../report/compared.rst", category="Replication table"),
    params:
        results=scale_root_of("compared"),
        snapshot=lambda w, input: str(Path(input.snapshot).parent),
    log:
        f"{LOGS}/replication/compare_snapshot.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} compare {params.snapshot} {params.results} --out {output} "
        "--names artifacts/paper-cpu {params.results}"
