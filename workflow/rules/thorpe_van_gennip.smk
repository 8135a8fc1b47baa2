# Thorpe & van Gennip (TvG.1-TvG.5): the depth grid of minimisers, the continuum problem,
# Euler vs ODE, and the paper's notebook.
TVG = f"{ROOT}/thorpe_van_gennip"
TVG_DATASETS = CFG["experiments"]["tvg"]["datasets"]


rule tvg_solve:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
    output:
        objectives=f"{TVG}/{{dataset}}/tvg/objectives.csv",
        solutions=f"{TVG}/{{dataset}}/tvg/solutions.pt",
    params:
        settings=settings("tvg"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("objectives"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_solve.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads 1 analyse tvg_solve --settings {params.settings} "
        "--data {input.data} --out-dir {params.out_dir} --scale {params.scale} --seed {params.seed}"


rule tvg_continuum:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
        solutions=f"{TVG}/{{dataset}}/tvg/solutions.pt",
    output:
        model=f"{TVG}/{{dataset}}/tvg/continuum.pt",
        summary=f"{TVG}/{{dataset}}/tvg/continuum.json",
    params:
        settings=settings("tvg"),
        scale=SCALE,
        out_dir=parent_of("summary"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_continuum.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads 1 analyse tvg_continuum --settings {params.settings} "
        "--data {input.data} --solve-dir {params.out_dir} --out-dir {params.out_dir} --scale {params.scale}"


rule tvg_claims:
    input:
        objectives=f"{TVG}/{{dataset}}/tvg/objectives.csv",
        solutions=f"{TVG}/{{dataset}}/tvg/solutions.pt",
        continuum=f"{TVG}/{{dataset}}/tvg/continuum.json",
    output:
        claim1=f"{TVG}/{{dataset}}/tvg/claim_tvg1.json",
        claim2=f"{TVG}/{{dataset}}/tvg/claim_tvg2.json",
        claim4=f"{TVG}/{{dataset}}/tvg/claim_tvg4.json",
        claim5=f"{TVG}/{{dataset}}/tvg/claim_tvg5.json",
        minima=f"{TVG}/{{dataset}}/tvg/minima.csv",
        distances=f"{TVG}/{{dataset}}/tvg/distances.csv",
        slopes=f"{TVG}/{{dataset}}/tvg/distance_slopes.csv",
        branches=f"{TVG}/{{dataset}}/tvg/cold_start_branches.csv",
    params:
        settings=settings("tvg"),
        scale=SCALE,
        out_dir=parent_of("claim1"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_claims.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse tvg_claims --settings {params.settings} "
        "--solve-dir {params.out_dir} --out-dir {params.out_dir} --scale {params.scale} "
        "--label {wildcards.dataset}"


# TvG.1-TvG.5 once per declared choice (config: experiments.tvg.sensitivity): the same chain
# of solves, the continuum problem and the claims, in sensitivity/<run>/.
TVG_RUN = f"{TVG}/{{dataset}}/tvg/sensitivity/{{run}}"


use rule tvg_solve as tvg_solve_sensitivity_run with:
    output:
        objectives=f"{TVG_RUN}/objectives.csv",
        solutions=f"{TVG_RUN}/solutions.pt",
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        settings=lambda w: settings_with("tvg", w.run),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("objectives"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_solve_{{run}}.log",


use rule tvg_continuum as tvg_continuum_sensitivity_run with:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
        solutions=f"{TVG_RUN}/solutions.pt",
    output:
        model=f"{TVG_RUN}/continuum.pt",
        summary=f"{TVG_RUN}/continuum.json",
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        settings=lambda w: settings_with("tvg", w.run),
        scale=SCALE,
        out_dir=parent_of("summary"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_continuum_{{run}}.log",


use rule tvg_claims as tvg_claims_sensitivity_run with:
    input:
        objectives=f"{TVG_RUN}/objectives.csv",
        solutions=f"{TVG_RUN}/solutions.pt",
        continuum=f"{TVG_RUN}/continuum.json",
    output:
        claim1=f"{TVG_RUN}/claim_tvg1.json",
        claim2=f"{TVG_RUN}/claim_tvg2.json",
        claim4=f"{TVG_RUN}/claim_tvg4.json",
        claim5=f"{TVG_RUN}/claim_tvg5.json",
        minima=f"{TVG_RUN}/minima.csv",
        distances=f"{TVG_RUN}/distances.csv",
        slopes=f"{TVG_RUN}/distance_slopes.csv",
        branches=f"{TVG_RUN}/cold_start_branches.csv",
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        settings=lambda w: settings_with("tvg", w.run),
        scale=SCALE,
        out_dir=parent_of("claim1"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_claims_{{run}}.log",


rule tvg3_euler_vs_ode:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
    output:
        claim=f"{TVG}/{{dataset}}/tvg3/claim.json",
        table=f"{TVG}/{{dataset}}/tvg3/euler_vs_ode.csv",
    params:
        settings=settings("tvg"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg3.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse tvg3 --settings {params.settings} "
        "--data {input.data} --out-dir {params.out_dir} --scale {params.scale} --seed {params.seed} "
        "--label {wildcards.dataset}"


rule thorpe_van_gennip_notebook:
    input:
        notebook=str(REPO / "notebooks" / "thorpe_van_gennip.ipynb"),
        claims=expand(f"{TVG}/{{dataset}}/tvg/claim_tvg{{i}}.json", dataset=TVG_DATASETS, i=(1, 2, 4, 5)),
        tvg3=expand(f"{TVG}/{{dataset}}/tvg3/claim.json", dataset=TVG_DATASETS),
        solutions=expand(f"{TVG}/{{dataset}}/tvg/solutions.pt", dataset=TVG_DATASETS),
        sensitivity=[f"{ROOT}/{t}.csv" for t in SENSITIVITY_TABLES if t.startswith("thorpe_van_gennip/")],
    output:
        notebook=f"{ROOT}/notebooks/thorpe_van_gennip.ipynb",
        html=report(
            f"{ROOT}/notebooks/thorpe_van_gennip.html",
            caption="../report/notebook.rst",
            category="Thorpe & van Gennip",
            subcategory="Executed notebook",
        ),
        figures=report(
            expand(f"{ROOT}/figures/thorpe_van_gennip/{{figure}}_{{dataset}}.png",
                   figure=("tvg1_minima", "tvg2_distances", "tvg2_profiles", "tvg3_euler"), dataset=TVG_DATASETS),
            caption="../report/thorpe_van_gennip.rst",
            category="Thorpe & van Gennip",
        ),
        table=f"{ROOT}/tables/thorpe_van_gennip.csv",
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=NOTEBOOK_REFERENCE,
        datasets=",".join(TVG_DATASETS),
    log:
        f"{LOGS}/notebooks/thorpe_van_gennip.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference} -p datasets={params.datasets}"
