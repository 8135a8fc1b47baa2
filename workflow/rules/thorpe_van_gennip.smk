# Thorpe & van Gennip (TvG.1-TvG.5): the depth grid of minimisers, the continuum problem,
# Euler vs ODE, and the paper's notebook.
TVG = f"{ROOT}/thorpe_van_gennip"


rule tvg_solve:
    input:
        data=experiment_dataset("tvg"),
    output:
        objectives=f"{TVG}/tvg/objectives.csv",
        solutions=f"{TVG}/tvg/solutions.pt",
    params:
        settings=settings("tvg"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("objectives"),
    log:
        f"{LOGS}/thorpe_van_gennip/tvg_solve.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads 1 analyse tvg_solve --settings {params.settings} "
        "--data {input.data} --out-dir {params.out_dir} --scale {params.scale} --seed {params.seed}"


rule tvg_continuum:
    input:
        data=experiment_dataset("tvg"),
        solutions=f"{TVG}/tvg/solutions.pt",
    output:
        model=f"{TVG}/tvg/continuum.pt",
        summary=f"{TVG}/tvg/continuum.json",
    params:
        settings=settings("tvg"),
        scale=SCALE,
        out_dir=parent_of("summary"),
    log:
        f"{LOGS}/thorpe_van_gennip/tvg_continuum.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads 1 analyse tvg_continuum --settings {params.settings} "
        "--data {input.data} --solve-dir {params.out_dir} --out-dir {params.out_dir} --scale {params.scale}"


rule tvg_claims:
    input:
        objectives=f"{TVG}/tvg/objectives.csv",
        solutions=f"{TVG}/tvg/solutions.pt",
        continuum=f"{TVG}/tvg/continuum.json",
    output:
        claim1=f"{TVG}/tvg/claim_tvg1.json",
        claim2=f"{TVG}/tvg/claim_tvg2.json",
        claim4=f"{TVG}/tvg/claim_tvg4.json",
        claim5=f"{TVG}/tvg/claim_tvg5.json",
        minima=f"{TVG}/tvg/minima.csv",
        distances=f"{TVG}/tvg/distances.csv",
        slopes=f"{TVG}/tvg/distance_slopes.csv",
        branches=f"{TVG}/tvg/cold_start_branches.csv",
    params:
        settings=settings("tvg"),
        scale=SCALE,
        out_dir=parent_of("claim1"),
    log:
        f"{LOGS}/thorpe_van_gennip/tvg_claims.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse tvg_claims --settings {params.settings} "
        "--solve-dir {params.out_dir} --out-dir {params.out_dir} --scale {params.scale}"


rule tvg3_euler_vs_ode:
    input:
        data=experiment_dataset("tvg"),
    output:
        claim=f"{TVG}/tvg3/claim.json",
        table=f"{TVG}/tvg3/euler_vs_ode.csv",
    params:
        settings=settings("tvg"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/thorpe_van_gennip/tvg3.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse tvg3 --settings {params.settings} "
        "--data {input.data} --out-dir {params.out_dir} --scale {params.scale} --seed {params.seed}"


rule thorpe_van_gennip_notebook:
    input:
        notebook=str(REPO / "notebooks" / "thorpe_van_gennip.ipynb"),
        claims=rules.tvg_claims.output,
        tvg3=rules.tvg3_euler_vs_ode.output,
        solutions=f"{TVG}/tvg/solutions.pt",
    output:
        notebook=f"{ROOT}/notebooks/thorpe_van_gennip.ipynb",
        html=report(
            f"{ROOT}/notebooks/thorpe_van_gennip.html",
            caption="../report/notebook.rst",
            category="Thorpe & van Gennip",
            subcategory="Executed notebook",
        ),
        figures=report(
            multiext(f"{ROOT}/figures/thorpe_van_gennip/", "tvg1_minima.png", "tvg2_distances.png",
                     "tvg2_profiles.png", "tvg3_euler.png"),
            caption="../report/thorpe_van_gennip.rst",
            category="Thorpe & van Gennip",
        ),
        table=f"{ROOT}/tables/thorpe_van_gennip.csv",
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=REFERENCE,
    log:
        f"{LOGS}/notebooks/thorpe_van_gennip.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference}"
