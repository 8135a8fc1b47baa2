# deeplimits: the replication DAG. Rules are thin: each calls `python -m deeplimits ...`.
# Scale: `snakemake --config scale=smoke|quick|paper` (default from config.yaml).

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


# Everything a reader looks at, built from analysis results only: `make figures` runs
# this target with --allowed-rules restricted to the notebook and table rules.
rule figures:
    input:
        f"{TABLE}.csv",
        f"{TABLE}.md",
        expand(f"{ROOT}/notebooks/{{paper}}.html", paper=NOTEBOOK_PAPERS),
        [COMPARED] if SCALE == "paper" and CPU_ONLY else [],


# Without a GPU: the claims whose paper scale fits a CPU, and their partial table
# (`make paper-cpu`).
rule cpu_claims:
    input:
        f"{ROOT}/replication/claims_cpu.csv",
        f"{ROOT}/replication/claims_cpu.md",
        [COMPARED] if SCALE == "paper" else [],


rule all:
    input:
        f"{TABLE}.csv",
        f"{TABLE}.md",
        f"{ROOT}/provenance.json",
        expand(f"{ROOT}/notebooks/{{paper}}.html", paper=NOTEBOOK_PAPERS),
    default_target: True
