# Cont, Rossier & Xu (CRX.1, CRX.2): analyses and the paper's notebook.
CRX = f"{ROOT}/cont_rossier_xu"


rule crx1_gd_convergence:
    input:
        cells=cell_outputs("crx1"),
    output:
        claim1=f"{CRX}/crx1/claim_crx1.json",
        claim2=f"{CRX}/crx1/claim_crx2.json",
        losses=f"{CRX}/crx1/loss_curves.csv",
        rates=f"{CRX}/crx1/rates.csv",
        norms=f"{CRX}/crx1/weight_norms.csv",
    params:
        scale=SCALE,
        settings=settings("crx1"),
        cells=cell_dirs("crx1"),
        out_dir=parent_of("claim1"),
    log:
        f"{LOGS}/cont_rossier_xu/crx1.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse crx1 --settings {params.settings} "
        "--cells {params.cells} --out-dir {params.out_dir} --scale {params.scale}"


rule crx3_p_variation:
    input:
        cells=cell_outputs("crx3"),
    output:
        claim=f"{CRX}/crx3/claim.json",
        variations=f"{CRX}/crx3/variations.csv",
        exponents=f"{CRX}/crx3/growth_exponents.csv",
        profiles=f"{CRX}/crx3/profiles.csv",
    params:
        settings=settings("crx3"),
        cells=cell_dirs("crx3"),
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/cont_rossier_xu/crx3.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse crx3 --settings {params.settings} "
        "--cells {params.cells} --out-dir {params.out_dir} --scale {params.scale}"


# One analysis per dataset: at paper scale the ODE part fits a CPU, the MNIST part needs a GPU.
rule crx4_scaling:
    input:
        cells=lambda w: cell_outputs("crx4", dataset=w.dataset),
        features=lambda w: [f"{ROOT}/data/mnist_features.pt"] if w.dataset == "mnist_features" else [],
    output:
        claim=f"{CRX}/crx4/{{dataset}}/claim.json",
        scaling=f"{CRX}/crx4/{{dataset}}/scaling.csv",
        betas=f"{CRX}/crx4/{{dataset}}/betas.csv",
        entry=f"{CRX}/crx4/{{dataset}}/entry_decomposition.csv",
    wildcard_constraints:
        dataset=r"[a-z_]+",
    params:
        settings=settings("crx4"),
        cells=lambda w: cell_dirs("crx4", dataset=w.dataset),
        data=lambda w, input: f"--data {input.features[0]}" if input.features else "",
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/cont_rossier_xu/crx4_{{dataset}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} analyse crx4 --settings {params.settings} "
        "--cells {params.cells} {params.data} --out-dir {params.out_dir} --scale {params.scale} "
        "--label {wildcards.dataset}"


# CRX.4 once per declared protocol choice (config: experiments.crx4.sensitivity).
use rule crx4_scaling as crx4_sensitivity_run with:
    input:
        cells=lambda w: [f"{d}/weights.pt" for d in sensitivity_dirs("crx4", w.run, w.dataset)],
        features=lambda w: [f"{ROOT}/data/mnist_features.pt"] if w.dataset == "mnist_features" else [],
    output:
        claim=f"{CRX}/crx4/{{dataset}}/sensitivity/{{run}}/claim.json",
        scaling=f"{CRX}/crx4/{{dataset}}/sensitivity/{{run}}/scaling.csv",
        betas=f"{CRX}/crx4/{{dataset}}/sensitivity/{{run}}/betas.csv",
        entry=f"{CRX}/crx4/{{dataset}}/sensitivity/{{run}}/entry_decomposition.csv",
    wildcard_constraints:
        dataset=r"[a-z_]+",
        run=r"[^/]+",
    params:
        settings=settings("crx4"),
        cells=lambda w: sensitivity_dirs("crx4", w.run, w.dataset),
        data=lambda w, input: f"--data {input.features[0]}" if input.features else "",
        scale=SCALE,
        out_dir=parent_of("claim"),
    log:
        f"{LOGS}/cont_rossier_xu/crx4_{{dataset}}_{{run}}.log",


rule cont_rossier_xu_notebook:
    input:
        notebook=str(REPO / "notebooks" / "cont_rossier_xu.ipynb"),
        crx1=rules.crx1_gd_convergence.output,
        crx3=rules.crx3_p_variation.output,
        crx4=expand(f"{CRX}/crx4/{{dataset}}/claim.json", dataset=CFG["experiments"]["crx4"]["datasets"]),
        sensitivity=[f"{ROOT}/{t}.csv" for t in SENSITIVITY_TABLES if t.startswith("cont_rossier_xu/")],
    output:
        notebook=f"{ROOT}/notebooks/cont_rossier_xu.ipynb",
        html=report(
            f"{ROOT}/notebooks/cont_rossier_xu.html",
            caption="../report/notebook.rst",
            category="Cont, Rossier & Xu",
            subcategory="Executed notebook",
        ),
        figures=report(
            multiext(f"{ROOT}/figures/cont_rossier_xu/", "crx1_loss.png", "crx2_scaling.png",
                     "crx3_variation.png", "crx3_profiles.png", "crx4_scaling.png", "crx4_entry.png",
                     "crx4_stops.png", "crx4_sensitivity.png"),
            caption="../report/cont_rossier_xu.rst",
            category="Cont, Rossier & Xu",
        ),
        table=f"{ROOT}/tables/cont_rossier_xu.csv",
    params:
        root=scale_root_of("notebook"),
        scale=SCALE,
        reference=NOTEBOOK_REFERENCE,
    log:
        f"{LOGS}/notebooks/cont_rossier_xu.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} notebook {input.notebook} {output.notebook} "
        "--html {output.html} -p results_root={params.root} -p scale={params.scale} "
        "-p reference_dir={params.reference}"
