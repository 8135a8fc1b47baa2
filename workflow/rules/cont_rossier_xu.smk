# Cont, Rossier & Xu (CRX.1-CRX.4): the analyses. Outputs, claim files and figures: deeplimits.registry.


rule crx1:
    input:
        cells=cell_outputs("crx1"),
    output:
        **outputs_of("crx1"),
    params:
        **analyse_params("crx1"),
    log:
        f"{LOGS}/cont_rossier_xu/crx1.log",
    conda:
        ENV
    shell:
        ANALYSE


# CRX.2 reads CRX.1's training.
rule crx2:
    input:
        cells=cell_outputs("crx1"),
    output:
        **outputs_of("crx2"),
    params:
        **analyse_params("crx2"),
    log:
        f"{LOGS}/cont_rossier_xu/crx2.log",
    conda:
        ENV
    shell:
        ANALYSE


rule crx3:
    input:
        cells=cell_outputs("crx3"),
    output:
        **outputs_of("crx3"),
    params:
        **analyse_params("crx3"),
    log:
        f"{LOGS}/cont_rossier_xu/crx3.log",
    conda:
        ENV
    shell:
        ANALYSE


# One job per dataset: at paper scale the ODE part fits a CPU, the MNIST part needs a GPU.
rule crx4:
    input:
        cells=lambda w: cell_outputs("crx4", dataset=w.dataset),
        features=crx4_features,
    output:
        **outputs_of("crx4"),
    wildcard_constraints:
        dataset=r"[a-z_]+",
    params:
        **analyse_params("crx4", label=lambda w: w.dataset),
    log:
        f"{LOGS}/cont_rossier_xu/crx4_{{dataset}}.log",
    conda:
        ENV
    shell:
        ANALYSE


# CRX.4 once per declared protocol choice (config: experiments.crx4.sensitivity).
use rule crx4 as crx4_sensitivity_run with:
    input:
        cells=lambda w: [f"{d}/{CELL_FILES['weights']}" for d in sensitivity_dirs("crx4", w.run, w.dataset)],
        features=crx4_features,
    output:
        **outputs_of("crx4", run="{run}"),
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    log:
        f"{LOGS}/cont_rossier_xu/crx4_{{dataset}}_{{run}}.log",
