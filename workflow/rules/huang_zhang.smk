# Huang & Zhang (HZ.1-HZ.4): analyses and the paper's notebook.
HZ = f"{ROOT}/huang_zhang"


# HZ.1: one job per alpha computes its curve (at the authors' size 82 minutes on 2 CPU
# cores; by flop count (3e14) seconds on a GPU, not measured; it resumes from a checkpoint);
# the claim judges the curves.
rule hz1_alpha_increments:
    input:
        data=f"{ROOT}/data/random_images.pt",
    output:
        increments=f"{HZ}/hz1/a{{alpha}}/increments.csv",
    params:
        settings=one_job_settings("hz1"),
        seed=CFG["seed"],
        device=CFG["device"],
        scale=SCALE,
        out_dir=parent_of("increments"),
    threads: 2
    log:
        f"{LOGS}/huang_zhang/hz1_a{{alpha}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads {threads} analyse hz1_increments --settings {params.settings} "
        "--data {input.data} --alpha {wildcards.alpha} --out-dir {params.out_dir} --scale {params.scale} "
        "--seed {params.seed} --device {params.device}"


rule hz1_random_increments:
    input:
        increments=[f"{HZ}/hz1/a{a:g}/increments.csv" for a in CFG["experiments"]["hz1"]["alphas"]],
        reference=f"{REFERENCE}/huang_zhang_random_resnet_increments.csv",
    output:
        claim=f"{HZ}/hz1/claim.json",
        increments=f"{HZ}/hz1/increments.csv",
        slopes=f"{HZ}/hz1/slopes.csv",
    params:
        scale=SCALE,
        settings=settings("hz1"),
        label="",
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz1.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse hz1 --settings {params.settings} "
        "--increments {input.increments} --reference {input.reference} --out-dir {params.out_dir} "
        "--scale {params.scale} --label '{params.label}'"


use rule hz1_random_increments as hz1_reference_alpha with:
    # The authors' alpha alone: the CPU table's part of HZ.1 (see CLAIMS in common.smk).
    input:
        increments=f"{HZ}/hz1/a{CFG['experiments']['hz1']['reference_alpha']:g}/increments.csv",
        reference=f"{REFERENCE}/huang_zhang_random_resnet_increments.csv",
    output:
        claim=f"{HZ}/hz1/reference_alpha/claim.json",
        increments=f"{HZ}/hz1/reference_alpha/increments.csv",
        slopes=f"{HZ}/hz1/reference_alpha/slopes.csv",
    params:
        scale=SCALE,
        settings=settings("hz1"),
        label=f"alpha={CFG['experiments']['hz1']['reference_alpha']:g}",
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz1_reference_alpha.log",


rule hz2_trained_resnet:
    input:
        cell=cell_outputs("hz2"),
        data=experiment_dataset("hz2"),
        reference=REFERENCE,
    output:
        claim=f"{HZ}/hz2/claim.json",
        history=f"{HZ}/hz2/history.csv",
        sums=f"{HZ}/hz2/partial_sums.csv",
    params:
        scale=SCALE,
        settings=settings("hz2"),
        cells=cell_dirs("hz2"),
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz2.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse hz2 --settings {params.settings} "
        "--cells {params.cells} --data {input.data} --reference {input.reference} "
        "--out-dir {params.out_dir} --scale {params.scale}"


rule hz3_theorem_checks:
    input:
        cell=cell_outputs("hz2"),
        data=experiment_dataset("hz2"),
    output:
        claim=f"{HZ}/hz3/claim.json",
        summary=f"{HZ}/hz3/explicit_and_bound.csv",
        truncation=f"{HZ}/hz3/truncation.csv",
        blocks=f"{HZ}/hz3/bound_per_block.csv",
    params:
        scale=SCALE,
        settings=settings("hz3"),
        cells=cell_dirs("hz2"),
        seed=CFG["seed"],
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz3.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse hz3 --settings {params.settings} "
        "--cells {params.cells} --data {input.data} --out-dir {params.out_dir} "
        "--scale {params.scale} --seed {params.seed}"


rule hz4_depth_alpha_grid:
    input:
        cells=cell_outputs("hz4"),
        data=experiment_dataset("hz4"),
    output:
        claim=f"{HZ}/hz4/claim.json",
        grid=f"{HZ}/hz4/grid.csv",
        curves=f"{HZ}/hz4/partial_sum_curves.csv",
        fits=f"{HZ}/hz4/log_fits.csv",
    params:
        scale=SCALE,
        settings=settings("hz4"),
        cells=cell_dirs("hz4"),
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz4.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse hz4 --settings {params.settings} "
        "--cells {params.cells} --data {input.data} --out-dir {params.out_dir} --scale {params.scale}"


# HZ.4 once per declared choice (config: experiments.hz4.sensitivity), on its own cells.
use rule hz4_depth_alpha_grid as hz4_sensitivity_run with:
    input:
        cells=lambda w: [f"{d}/weights.pt" for d in sensitivity_dirs("hz4", w.run)],
        data=experiment_dataset("hz4"),
    output:
        claim=f"{HZ}/hz4/sensitivity/{{run}}/claim.json",
        grid=f"{HZ}/hz4/sensitivity/{{run}}/grid.csv",
        curves=f"{HZ}/hz4/sensitivity/{{run}}/partial_sum_curves.csv",
        fits=f"{HZ}/hz4/sensitivity/{{run}}/log_fits.csv",
    params:
        scale=SCALE,
        settings=settings("hz4"),
        cells=lambda w: sensitivity_dirs("hz4", w.run),
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/huang_zhang/hz4_{{run}}.log",


rule huang_zhang_notebook:
    input:
        notebook=str(REPO / "notebooks" / "huang_zhang.ipynb"),
        claims=[f"{HZ}/hz{i}/claim.json" for i in (1, 2, 3, 4)],
        sensitivity=[f"{ROOT}/{t}.csv" for t in SENSITIVITY_TABLES if t.startswith("huang_zhang/")],
        tables=rules.hz1_random_increments.output,
        hz2=rules.hz2_trained_resnet.output,
        hz3=rules.hz3_theorem_checks.output,
        hz4=rules.hz4_depth_alpha_grid.output,
    output:
        notebook=f"{ROOT}/notebooks/huang_zhang.ipynb",
        html=report(
            f"{ROOT}/notebooks/huang_zhang.html",
            caption="../report/notebook.rst",
            category="Huang & Zhang",
            subcategory="Executed notebook",
        ),
        figures=report(
            multiext(f"{ROOT}/figures/huang_zhang/", "hz1_increments.png", "hz2_training.png",
                     "hz2_partial_sums.png", "hz3_truncation.png", "hz4_grid.png"),
            caption="../report/huang_zhang.rst",
            category="Huang & Zhang",
        ),
        table=f"{ROOT}/tables/huang_zhang.csv",
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=NOTEBOOK_REFERENCE,
    log:
        f"{LOGS}/notebooks/huang_zhang.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference}"
