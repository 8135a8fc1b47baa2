# Huang & Zhang (HZ.1-HZ.4): the analyses. Outputs, claim files and figures: deeplimits.registry.
HZ1 = CFG["experiments"]["hz1"]


# HZ.1: one job per alpha computes its curve (at the authors' size 82 minutes on 2 CPU
# cores; by flop count (3e14) seconds on a GPU, not measured; it resumes from a checkpoint);
# `hz1` judges every alpha's curve.
rule hz1_increments:
    input:
        data=f"{ROOT}/data/random_images.pt",
    output:
        **outputs_of("hz1_increments"),
    params:
        **analyse_params("hz1_increments",
                         settings_of=lambda w: as_arg({**job_settings("hz1", experiment_settings(CFG, "hz1")),
                                                       "alpha": float(w.alpha)}),
                         torch_threads=2),
    threads: 2
    log:
        f"{LOGS}/huang_zhang/hz1_a{{alpha}}.log",
    conda:
        ENV
    shell:
        ANALYSE


rule hz1:
    input:
        increments=[outputs_of("hz1_increments")["increments"].format(alpha=f"{a:g}") for a in HZ1["alphas"]],
        reference=reference("hz1_increments"),
    output:
        **outputs_of("hz1"),
    params:
        **analyse_params("hz1"),
    log:
        f"{LOGS}/huang_zhang/hz1.log",
    conda:
        ENV
    shell:
        ANALYSE


use rule hz1 as hz1_reference_alpha with:
    # The authors' alpha alone: the CPU table's part of HZ.1 (registry: cpu_parts).
    input:
        increments=[outputs_of("hz1_increments")["increments"].format(alpha=f"{HZ1['reference_alpha']:g}")],
        reference=reference("hz1_increments"),
    output:
        **outputs_of("hz1_reference_alpha"),
    params:
        **analyse_params("hz1_reference_alpha", label=f"alpha={HZ1['reference_alpha']:g}"),
    log:
        f"{LOGS}/huang_zhang/hz1_reference_alpha.log",


rule hz2:
    input:
        cells=cell_outputs("hz2"),
        data=experiment_dataset("hz2"),
        reference_sums=reference("hz2_sums"),
    output:
        **outputs_of("hz2"),
    params:
        **analyse_params("hz2"),
    log:
        f"{LOGS}/huang_zhang/hz2.log",
    conda:
        ENV
    shell:
        ANALYSE


# HZ.3 checks the theorems on random nets and on HZ.2's trained net.
rule hz3:
    input:
        cells=cell_outputs("hz2"),
        data=experiment_dataset("hz2"),
    output:
        **outputs_of("hz3"),
    params:
        **analyse_params("hz3"),
    log:
        f"{LOGS}/huang_zhang/hz3.log",
    conda:
        ENV
    shell:
        ANALYSE


rule hz4:
    input:
        cells=cell_outputs("hz4"),
        data=experiment_dataset("hz4"),
    output:
        **outputs_of("hz4"),
    params:
        **analyse_params("hz4"),
    log:
        f"{LOGS}/huang_zhang/hz4.log",
    conda:
        ENV
    shell:
        ANALYSE


# HZ.4 once per declared choice (config: experiments.hz4.sensitivity), on its own cells.
use rule hz4 as hz4_sensitivity_run with:
    input:
        cells=lambda w: [f"{d}/{CELL_FILES['weights']}" for d in sensitivity_dirs("hz4", w.run)],
        data=experiment_dataset("hz4"),
    output:
        **outputs_of("hz4", run="{run}"),
    log:
        f"{LOGS}/huang_zhang/hz4_{{run}}.log",
