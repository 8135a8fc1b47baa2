# Training stage: one job per (experiment, dataset, variant, depth) cell; all seeds of
# the cell train together in that job. The checkpoint beside the outputs is not an
# output, so an interrupted job resumes from it when run again.


rule train:
    input:
        data=f"{ROOT}/data/{{dataset}}.pt",
    output:
        **{k: f"{ROOT}/train/{{experiment}}/{{dataset}}/{{variant}}/L{{depth}}/{v}" for k, v in CELL_FILES.items()},
    wildcard_constraints:
        depth=r"\d+",
    params:
        settings=lambda w: one_job_settings(w.experiment, w.variant),
        seed=CFG["seed"],
        device=PLAN.device,
        out_dir=lambda w, output: str(Path(output.weights).parent),
    threads: 1
    resources:
        gpu=lambda w: 1 if CFG["device"] != "cpu" and SCALE == "paper" else 0,
        # Its model's estimated GPU memory (costs.py): the profile grants the device's total.
        gpu_mem_mb=lambda w: PLAN.gpu_memory_mb(w.experiment, w.dataset, w.variant, w.depth),
    log:
        f"{LOGS}/train/{{experiment}}/{{dataset}}/{{variant}}/L{{depth}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} --threads {threads} train "
        "{wildcards.experiment}/{wildcards.dataset}/{wildcards.variant}/L{wildcards.depth} "
        "--settings {params.settings} --data {input.data} --out-dir {params.out_dir} "
        "--seed {params.seed} --device {params.device}"
