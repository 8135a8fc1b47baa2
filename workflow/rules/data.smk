# Data stage: offline sets are generated from the seed; the others are downloaded
# from the configured mirrors with checksums. One job per dataset.

from deeplimits.data.prepare import data_settings
from deeplimits.data.registry import DOWNLOADABLE
from deeplimits.data.synthetic import BUILDERS as GENERATORS

OFFLINE = list(GENERATORS)
DOWNLOADED = list(DOWNLOADABLE)


rule generate_data:
    output:
        f"{ROOT}/data/{{dataset}}.pt",
    wildcard_constraints:
        dataset="|".join(OFFLINE),
    params:
        settings=lambda w: as_arg(data_settings(CFG["data"], w.dataset)),
        seed=CFG["seed"],
    log:
        f"{LOGS}/data/{{dataset}}.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} data {wildcards.dataset} "
        "--settings {params.settings} --seed {params.seed} --out {output}"


rule download_data:
    output:
        f"{ROOT}/data/{{dataset}}.pt",
    wildcard_constraints:
        dataset="|".join(DOWNLOADED),
    params:
        settings=lambda w: as_arg(data_settings(CFG["data"], w.dataset)),
    log:
        f"{LOGS}/data/{{dataset}}.log",
    resources:
        downloads=1,
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} data {wildcards.dataset} "
        "--settings {params.settings} --out {output}"


rule derive_data:
    # mnist_features: MNIST (downloaded here when source is auto or mnist) through two
    # random convolutions; Fashion-MNIST is the stand-in when MNIST cannot be had.
    input:
        fallback=lambda w: (
            [f"{ROOT}/data/fashion_mnist.pt"]
            if CFG["data"]["mnist_features"]["source"] != "mnist"
            else []
        ),
    output:
        f"{ROOT}/data/mnist_features.pt",
    params:
        settings=lambda w: as_arg(data_settings(CFG["data"], "mnist_features")),
        seed=CFG["seed"],
    log:
        f"{LOGS}/data/mnist_features.log",
    conda:
        ENV
    shell:
        "python -m deeplimits --log {log} data mnist_features "
        "--settings {params.settings} --seed {params.seed} --out {output}"
