# Xu & Zhang (XZ.1-XZ.4): the analyses. Outputs, claim files and figures: deeplimits.registry.


rule xz1:
    output:
        **outputs_of("xz1"),
    params:
        **analyse_params("xz1"),
    log:
        f"{LOGS}/xu_zhang/xz1.log",
    conda:
        ENV
    shell:
        ANALYSE


rule xz2:
    output:
        **outputs_of("xz2"),
    params:
        **analyse_params("xz2"),
    log:
        f"{LOGS}/xu_zhang/xz2.log",
    conda:
        ENV
    shell:
        ANALYSE


# XZ.2 once per declared choice (config: experiments.xz2.sensitivity).
use rule xz2 as xz2_sensitivity_run with:
    output:
        **outputs_of("xz2", run="{run}"),
    params:
        **analyse_params("xz2", settings_of=lambda w: settings_with("xz2", w.run)),
    log:
        f"{LOGS}/xu_zhang/xz2_{{run}}.log",


# XZ.3 and XZ.4 read the same trained plain nets.
rule xz34:
    input:
        cells=cell_outputs("xz34"),
        data=experiment_dataset("xz34"),
    output:
        **outputs_of("xz34"),
    params:
        **analyse_params("xz34"),
    log:
        f"{LOGS}/xu_zhang/xz34.log",
    conda:
        ENV
    shell:
        ANALYSE
