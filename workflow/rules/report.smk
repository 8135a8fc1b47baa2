# The replication table and the run's provenance.


def claim_files():
    return [
        f"{ROOT}/huang_zhang/hz1/claim.json",
        f"{ROOT}/huang_zhang/hz2/claim.json",
        f"{ROOT}/huang_zhang/hz3/claim.json",
        f"{ROOT}/huang_zhang/hz4/claim.json",
        f"{ROOT}/cont_rossier_xu/crx1/claim_crx1.json",
        f"{ROOT}/cont_rossier_xu/crx1/claim_crx2.json",
    ]


rule claims_table:
    input:
        claim_files(),
    output:
        csv=report(
            f"{ROOT}/replication/claims.csv",
            caption="../report/claims.rst",
            category="Replication table",
        ),
        md=f"{ROOT}/replication/claims.md",
    log:
        f"{LOGS}/replication/claims.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} claims {input} --scale {SCALE} "
        "--out-csv {output.csv} --out-md {output.md}"


rule provenance:
    input:
        [f"{d}/provenance.json" for e in ("hz2", "hz4", "crx1") for d in cell_dirs(e)],
    output:
        f"{ROOT}/provenance.json",
    params:
        config=as_arg(CFG),
    log:
        f"{LOGS}/provenance.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} provenance {input} --config {params.config} --out {output}"
