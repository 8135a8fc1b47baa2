"""Train one cell: build its model from the config, run the engine, write its outputs.

Outputs in the cell folder: weights.pt (stacked per-seed tensors, loadable with
torch.load(weights_only=True)), metrics.csv (one row per seed and epoch),
provenance.json; checkpoint.pt stays beside them while training runs and goes when it ends.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from .config import config_hash
from .data import load_prepared
from .engine import TrainSettings, resolve_device, train
from .engine.trainer import settings_dict
from .experiments import experiment_of, parse_lr_variant
from .io import torch_save, write_csv, write_json
from .models import HZResNet, PlainReLU, ResidualMLP
from .plan import CELL_FILES, CHECKPOINT, Cell, job_settings, parse_alpha
from .provenance import provenance
from .seeding import torch_generator

log = logging.getLogger(__name__)


# CRX.3's initialisations of A(k): (std factor, variance scaling), see ResidualMLP.
CRX3_INITS = {"zero": (0.0, "dL"), "iid_dL2": (1.0, "dL2"), "iid_dL": (1.0, "dL"), "iid_d": (1.0, "d")}


# CRX.4's two models: (activation, delta mode).
CRX4_MODELS = {"tanh_shared": ("tanh", "shared"), "relu_layer": ("relu", "per_layer")}


def seed_list(settings: dict) -> list[int]:
    return list(range(settings["seeds"]))


def build(cell: Cell, settings: dict, data: dict, root_seed: int):
    """(model, TrainSettings, seeds) for a cell, by its experiment's builder (experiments.py)."""
    seeds = seed_list(settings)
    gens = [torch_generator(root_seed, cell.path, "init", s) for s in seeds]
    builder = experiment_of(cell.experiment).builder
    if not builder:
        raise KeyError(f"experiment {cell.experiment!r} does not train networks")
    model, ts = BUILDERS[builder](cell, settings, data, gens)
    return model, ts, seeds


def build_hz(cell: Cell, settings: dict, data: dict, gens):
    """HZ.2 / HZ.4: the scaled ResNet of Huang & Zhang, Adam with cross-entropy."""
    meta = data["meta"]
    model = HZResNet(
        gens, in_shape=meta["x_shape"], n_classes=len(meta["classes"]), depth=cell.depth,
        width=settings["width"], branch_layers=settings["branch_layers"],
        alpha=parse_alpha(cell.base_variant), block=settings["block"],
    )
    ts = TrainSettings(
        epochs=settings["epochs"], batch_size=settings["batch_size"], optimizer="adam",
        lr=settings["lr"], milestones=list(settings["milestones"]),
        augment=settings["augment"], loss="cross_entropy",
        checkpoint_every=settings["checkpoint_every"],
    )
    return model, ts


def build_crx4(cell: Cell, settings: dict, data: dict, gens):
    """CRX.4: the companion's residual MLPs (A, b and delta trained), under its protocol."""
    activation, delta = CRX4_MODELS[cell.base_variant]
    d = data["x_train"].shape[1]
    # The companion's init_values: 'xavier' A ~ N(0, (s0/d)^2), b ~ N(0, (s0/sqrt d)^2);
    # 'xavier-depth' both standard deviations divided by L as well.
    s0 = settings["s0"] / (cell.depth if settings["init_method"] == "xavier-depth" else 1)
    model = ResidualMLP(
        gens, dim=d, depth=cell.depth, activation=activation, delta=delta, bias=True,
        trainable=("A", "b", "delta"), init_std=s0, init_scaling="d2", bias_std=s0,
    )
    ts = TrainSettings(
        epochs=settings["epochs"], batch_size=settings["batch_size"], optimizer="adam", lr=settings["lr"],
        loss=settings["loss"], checkpoint_every=settings["checkpoint_every"], eval_every=0,
        loss_threshold=settings["loss_threshold"], stopping=settings["stopping"],
        patience=settings["patience"], min_improvement=settings["min_improvement"],
        batching=settings["batching"],
    )
    return model, ts


def build_plain(cell: Cell, settings: dict, data: dict, gens):
    """XZ.3 / XZ.4: plain ReLU nets, He or convergent init at a learning rate (the variant), Adam."""
    meta = data["meta"]
    init, lr = parse_lr_variant(cell.base_variant)
    model = PlainReLU(gens, in_dim=int(torch.tensor(meta["x_shape"]).prod()), width=settings["width"],
                      depth=cell.depth, n_classes=len(meta["classes"]), init=init, alpha=settings["alpha"])
    ts = TrainSettings(
        epochs=settings["epochs"], batch_size=settings["batch_size"], optimizer="adam",
        lr=lr, loss="cross_entropy", checkpoint_every=settings["checkpoint_every"],
    )
    return model, ts


def build_gd(cell: Cell, settings: dict, data: dict, gens):
    """CRX.1 / CRX.3: tanh residual MLPs, only A trained by full-batch GD (CRX.3: the variant
    names the initialisation)."""
    if cell.experiment == "crx1":
        init_std, scaling = settings["init_std"], "dL"
    else:
        init_std, scaling = CRX3_INITS[cell.base_variant]
    model = ResidualMLP(
        gens, dim=data["x_train"].shape[1], depth=cell.depth, activation="tanh",
        delta="inv_sqrt", bias=False, trainable=("A",), init_std=init_std,
        init_scaling=scaling, dtype=getattr(torch, settings["dtype"]),
    )
    ts = TrainSettings(
        epochs=settings["steps"], batch_size=None, optimizer="gd", lr=settings["lr"],
        loss="half_sum", checkpoint_every=settings["checkpoint_every"], eval_every=0,
    )
    return model, ts


BUILDERS = {"hz": build_hz, "crx4": build_crx4, "plain": build_plain, "gd": build_gd}


# CRX.1's `targets: near_identity` (an R7 choice): y = x + NEAR_IDENTITY_NOISE x noise, noise ~ N(0, I / dim).
NEAR_IDENTITY_NOISE = 0.3


def validation_split(n_train: int, fraction: float, root_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) indices of a training split, the validation part `fraction` of it,
    drawn once from the root seed (the same for every cell and for the analysis that scores it)."""
    order = torch.randperm(n_train, generator=torch_generator(root_seed, "validation"))
    n_val = int(round(fraction * n_train))
    return order[n_val:].sort().values, order[:n_val].sort().values


def cell_data(settings: dict, data: dict, root_seed: int) -> dict:
    """The data a cell trains on: as prepared, except where its settings hold out a validation
    part of the training split (`validation`: the cell trains on the rest; the test split is
    untouched) or choose other targets (`targets: near_identity`, drawn once from the root
    seed; full-batch data: train = test)."""
    if "validation" in settings:
        keep, _ = validation_split(data["x_train"].shape[0], settings["validation"], root_seed)
        data = {**data, "x_train": data["x_train"][keep], "y_train": data["y_train"][keep]}
    if "targets" not in settings or settings["targets"] == "random":
        return data
    x = data["x_train"]
    noise = torch.randn(x.shape, generator=torch_generator(root_seed, "near_identity"), dtype=x.dtype)
    y = x + NEAR_IDENTITY_NOISE * noise / x.shape[1] ** 0.5
    return {**data, "y_train": y, "y_test": y.clone(), "x_test": x.clone()}


def run_cell(cell: Cell, settings: dict, data_path: str | Path, out_dir: str | Path, *,
             root_seed: int, device: str = "auto", show_progress: bool = True, cuda_graph: bool = True) -> dict:
    out_dir = Path(out_dir)
    # Built from its own settings only, so the fingerprint below covers all the cell reads. A
    # sensitivity variant's settings arrive with its choice applied (plan.job_settings).
    settings = job_settings(cell.experiment, settings)
    data = cell_data(settings, load_prepared(data_path), root_seed)
    torch.manual_seed(root_seed)
    model, ts, seeds = build(cell, settings, data, root_seed)
    ts.progress, ts.cuda_graph = show_progress, cuda_graph
    dev = resolve_device(device)
    # How a run executes (bars, graphs) is not part of what it computes: a checkpoint resumes across them.
    fingerprint = config_hash({"cell": cell.path, "settings": settings, "seed": root_seed,
                               "train": settings_dict(ts) | {"progress": None, "cuda_graph": None}})
    result = train(model, data, ts, seeds=seeds, root_seed=root_seed, label=cell.path,
                   checkpoint=out_dir / CHECKPOINT, device=dev, fingerprint=fingerprint)
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch_save(out_dir / CELL_FILES["weights"], {
        "state": weights,
        "seeds": seeds,
        "cell": {"experiment": cell.experiment, "dataset": cell.dataset,
                 "variant": cell.variant, "depth": cell.depth},
        "settings": settings,
        "diverged": {str(k): v for k, v in result.diverged.items()},
        "stops": {str(k): v for k, v in result.stops.items()},
    })
    write_csv(out_dir / CELL_FILES["metrics"], pd.DataFrame(result.metrics))
    record = provenance(
        {"cell": cell.path, "settings": settings, "root_seed": root_seed}, device=dev,
        wall_time_s=result.wall_time_s, sitting_wall_time_s=result.sitting_wall_time_s, steps=result.steps,
        steps_per_s=None if result.wall_time_s is None else result.steps / max(result.wall_time_s, 1e-9),
        resumed_from_epoch=result.resumed_from, diverged=list(result.diverged.values()),
        stops=list(result.stops.values()),
        train_settings=settings_dict(ts),
    )
    write_json(out_dir / CELL_FILES["provenance"], record)
    # Finished: its outputs are written, so the checkpoint has done its work. Left behind, it
    # would be resumed (and trusted) by the next run of this cell.
    (out_dir / CHECKPOINT).unlink(missing_ok=True)
    log.info("trained %s: %d steps, %.1f s in this sitting (%s in all)", cell.path, result.steps,
             result.sitting_wall_time_s, "unknown" if result.wall_time_s is None else f"{result.wall_time_s:.1f} s")
    return record


def cell_dirs(files) -> list[Path]:
    """The cell folders of a rule's training inputs (each cell's weights file, or its folder)."""
    return [Path(f).parent if Path(f).name == CELL_FILES["weights"] else Path(f) for f in files]


def load_weights(cell_dir: str | Path) -> dict:
    """A cell's weights file: {"cell", "settings", "state", ...} (tensors stacked over seeds)."""
    return torch.load(Path(cell_dir) / CELL_FILES["weights"], weights_only=True)


def load_metrics(cell_dir: str | Path) -> pd.DataFrame:
    return pd.read_csv(Path(cell_dir) / CELL_FILES["metrics"])


def initial_state(cell_dir: str | Path, data_meta: dict, root_seed: int = 0) -> dict:
    """The weights a cell started from, rebuilt from its generators as run_cell built them
    (nothing else is stored): what training displaced, with the trained state."""
    blob = load_weights(cell_dir)
    c = blob["cell"]
    cell = Cell(c["experiment"], c["dataset"], c["variant"], int(c["depth"]))
    torch.manual_seed(root_seed)
    model, _, _ = build(cell, blob["settings"], {"meta": data_meta, "x_train": torch.zeros(1, *data_meta["x_shape"])},
                        root_seed)
    return {k: v.detach() for k, v in model.state_dict().items()}


def load_cell_model(cell_dir: str | Path, data_meta: dict, root_seed: int = 0):
    """Rebuild the trained stacked model of a cell folder (for analyses)."""
    blob = load_weights(cell_dir)
    c = blob["cell"]
    cell = Cell(c["experiment"], c["dataset"], c["variant"], int(c["depth"]))
    fake = {"meta": data_meta, "x_train": torch.zeros(1, *data_meta["x_shape"])}
    model, _, _ = build(cell, blob["settings"], fake, root_seed)
    model.load_state_dict(blob["state"])
    return model.eval(), blob
