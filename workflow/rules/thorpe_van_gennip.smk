# Thorpe & van Gennip (TvG.1-TvG.5): the depth grid of minimisers, the continuum problem,
# Euler vs ODE. Outputs, claim files and figures: deeplimits.registry.
TVG_SOLVE, TVG_CONTINUUM = outputs_of("tvg_solve"), outputs_of("tvg_continuum")


rule tvg_solve:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
    output:
        **TVG_SOLVE,
    params:
        **analyse_params("tvg_solve", torch_threads=1),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_solve.log",
    conda:
        ENV
    shell:
        ANALYSE


rule tvg_continuum:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
        solutions=TVG_SOLVE["solutions"],
        objectives=TVG_SOLVE["objectives"],
    output:
        **TVG_CONTINUUM,
    params:
        **analyse_params("tvg_continuum", torch_threads=1),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_continuum.log",
    conda:
        ENV
    shell:
        ANALYSE


rule tvg_claims:
    input:
        **tvg_inputs(),
    output:
        **outputs_of("tvg_claims"),
    params:
        **analyse_params("tvg_claims", label=lambda w: w.dataset),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_claims.log",
    conda:
        ENV
    shell:
        ANALYSE


# TvG.1-TvG.5 once per declared choice (config: experiments.tvg.sensitivity): the same chain
# of solves, the continuum problem and the claims, in sensitivity/<run>/.
use rule tvg_solve as tvg_solve_sensitivity_run with:
    output:
        **outputs_of("tvg_solve", run="{run}"),
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        **analyse_params("tvg_solve", settings_of=lambda w: settings_with("tvg", w.run), torch_threads=1),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_solve_{{run}}.log",


use rule tvg_continuum as tvg_continuum_sensitivity_run with:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
        solutions=outputs_of("tvg_solve", run="{run}")["solutions"],
        objectives=outputs_of("tvg_solve", run="{run}")["objectives"],
    output:
        **outputs_of("tvg_continuum", run="{run}"),
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        **analyse_params("tvg_continuum", settings_of=lambda w: settings_with("tvg", w.run), torch_threads=1),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_continuum_{{run}}.log",


use rule tvg_claims as tvg_claims_sensitivity_run with:
    input:
        **tvg_inputs(run="{run}"),
    output:
        **outputs_of("tvg_claims", run="{run}"),
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        **analyse_params("tvg_claims", settings_of=lambda w: settings_with("tvg", w.run), label=lambda w: w.dataset),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg_claims_{{run}}.log",


rule tvg3:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
    output:
        **outputs_of("tvg3"),
    params:
        **analyse_params("tvg3", label=lambda w: w.dataset),
    log:
        f"{LOGS}/thorpe_van_gennip/{{dataset}}/tvg3.log",
    conda:
        ENV
    shell:
        ANALYSE
