# Xu & Zhang (XZ.1-XZ.4): analyses and the paper's notebook.
XZ = f"{ROOT}/xu_zhang"


rule xz1_activation_domains:
    output:
        claim=f"{XZ}/xz1/claim.json",
        summary=f"{XZ}/xz1/explicit_and_pieces.csv",
        pieces=f"{XZ}/xz1/pieces.csv",
    params:
        settings=settings("xz1"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/xu_zhang/xz1.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse xz1 --settings {params.settings} "
        "--out-dir {params.out_dir} --scale {params.scale} --seed {params.seed}"


rule xz2_summable_perturbations:
    output:
        claim=f"{XZ}/xz2/claim.json",
        increments=f"{XZ}/xz2/increments.csv",
        slopes=f"{XZ}/xz2/slopes.csv",
        sums=f"{XZ}/xz2/partial_sums.csv",
        he=f"{XZ}/xz2/he_output_norms.csv",
    params:
        settings=settings("xz2"),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/xu_zhang/xz2.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse xz2 --settings {params.settings} "
        "--out-dir {params.out_dir} --scale {params.scale} --seed {params.seed}"


# XZ.2 once per declared choice (config: experiments.xz2.sensitivity).
use rule xz2_summable_perturbations as xz2_sensitivity_run with:
    output:
        claim=f"{XZ}/xz2/sensitivity/{{run}}/claim.json",
        increments=f"{XZ}/xz2/sensitivity/{{run}}/increments.csv",
        slopes=f"{XZ}/xz2/sensitivity/{{run}}/slopes.csv",
        sums=f"{XZ}/xz2/sensitivity/{{run}}/partial_sums.csv",
        he=f"{XZ}/xz2/sensitivity/{{run}}/he_output_norms.csv",
    params:
        settings=lambda w: settings_with("xz2", w.run),
        seed=CFG["seed"],
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/xu_zhang/xz2_{{run}}.log",


rule xz34_trained_plain_nets:
    input:
        cells=cell_outputs("xz4"),
        data=experiment_dataset("xz4"),
    output:
        claim3=f"{XZ}/xz4/claim_xz3.json",
        claim4=f"{XZ}/xz4/claim_xz4.json",
        accuracy=f"{XZ}/xz4/accuracy.csv",
        layers=f"{XZ}/xz4/layer_norms.csv",
        trends=f"{XZ}/xz4/trends.csv",
    params:
        settings=settings("xz4"),
        cells=cell_dirs("xz4"),
        scale=SCALE,
        out_dir=parent_of("claim4"),
    log:
        f"{LOGS}/xu_zhang/xz4.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse xz4 --settings {params.settings} "
        "--cells {params.cells} --data {input.data} --out-dir {params.out_dir} --scale {params.scale}"


rule xu_zhang_notebook:
    input:
        notebook=str(REPO / "notebooks" / "xu_zhang.ipynb"),
        xz1=rules.xz1_activation_domains.output,
        xz2=rules.xz2_summable_perturbations.output,
        xz4=rules.xz34_trained_plain_nets.output,
        sensitivity=[f"{ROOT}/{t}.csv" for t in SENSITIVITY_TABLES if t.startswith("xu_zhang/")],
    output:
        notebook=f"{ROOT}/notebooks/xu_zhang.ipynb",
        html=report(
            f"{ROOT}/notebooks/xu_zhang.html",
            caption="../report/notebook.rst",
            category="Xu & Zhang",
            subcategory="Executed notebook",
        ),
        figures=report(
            multiext(f"{ROOT}/figures/xu_zhang/", "xz1_pieces.png", "xz2_increments.png",
                     "xz3_layer_norms.png", "xz4_accuracy.png"),
            caption="../report/xu_zhang.rst",
            category="Xu & Zhang",
        ),
        table=f"{ROOT}/tables/xu_zhang.csv",
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=NOTEBOOK_REFERENCE,
    log:
        f"{LOGS}/notebooks/xu_zhang.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference}"
