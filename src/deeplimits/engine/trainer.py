"""Train S stacked seeds of one model together.

Each seed draws its batch order (and augmentation) from its own generator and its
loss only reaches its own parameter slices, so seed s follows the same trajectory it
would alone (tested). Checkpoints hold everything needed to resume bit for bit on a
CPU: parameters, optimiser and scheduler state, generator states, metrics so far.
A seed whose loss turns NaN or inf is recorded (seed, epoch, step) and leaves the
objective; the others go on.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..io import torch_save
from ..logs import progress
from ..seeding import torch_generator
from .augment import augment_images
from .cuda_graph import graphed_forward
from .memory import keep_freed_memory
from .optim import SGD, Adam, MultiStepLR
from .schedule import Batches, StopRule

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int | None = None      # None: full batch
    optimizer: str = "adam"            # adam | sgd | gd (gd: sgd on the full batch)
    lr: float = 1e-3
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    augment: bool = False
    loss: str = "cross_entropy"        # cross_entropy | half_sum | mse_mean
    checkpoint_every: int = 1          # epochs
    eval_every: int = 1                # epochs; 0: never evaluate on the test split
    progress: bool = True
    # Each epoch records whether a seed's train loss is below it; `stopping` may act on it
    # (schedule.py: none | threshold | threshold+plateau, judged per seed).
    loss_threshold: float | None = None
    stopping: str = "none"
    patience: int = 5                  # epochs without a relative improvement of min_improvement
    min_improvement: float = 0.01
    batching: str = "randperm"         # randperm | fixed_partition | shuffle_defect (schedule.py)
    # On a CUDA device: replay forward and backward from CUDA graphs (engine/cuda_graph.py).
    cuda_graph: bool = True


@dataclass
class TrainResult:
    metrics: list[dict]
    diverged: dict[int, dict]
    # Over every sitting of a resumed run; None when an earlier sitting's time is unknown
    # (a checkpoint written before the time was kept in it).
    wall_time_s: float | None
    steps: int
    resumed_from: int | None
    sitting_wall_time_s: float = 0.0
    # Seed index -> {"seed", "epoch", "reason"}: where each seed stopped ('threshold',
    # 'plateau', 'max_epochs'; 'diverged' for a seed that left with a non-finite loss).
    stops: dict[int, dict] = field(default_factory=dict)


# A progress line in the log at most this often: the bar goes to the terminal (and is off in
# CI and under `progress: false`), while a long cell's log file should still show where it is.
LOG_EVERY_S = 60.0


WAYS_ON = ("train on the CPU instead (--config device=cpu; days at paper scale), or run only the claims "
           "a CPU can (--config cpu_only=true, as make paper-cpu does)")


def cuda_unusable_reason() -> str:
    """Why CUDA cannot be used here ("" when it can): no CUDA in this torch build, a driver
    too old for it (torch's own warning, quoted), or no device visible."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = torch.cuda.is_available()
    if usable:
        return ""
    if torch.version.cuda is None:
        return "this torch build has no CUDA support"
    said = " ".join(str(w.message) for w in caught)
    if "driver" in said.lower():
        return f"the NVIDIA driver is too old for this torch build (CUDA {torch.version.cuda}): {said}"
    return "no CUDA device is visible (no GPU, or CUDA_VISIBLE_DEVICES hides it)"


def resolve_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA when usable, else the CPU. `cuda` or `cuda:N` (what `auto` means at paper
    scale, plan.Plan.device): CUDA, or stop before any work, saying why and the ways on."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        reason = cuda_unusable_reason()
        if reason:
            raise RuntimeError(f"device {name!r}: {reason}. Ways on: {WAYS_ON}")
    return torch.device(name)


def per_seed_loss(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """out (S, B, ...) and targets (S, B, ...) -> loss per seed (S,)."""
    if kind == "cross_entropy":
        s, b = out.shape[:2]
        return F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(s, b).mean(1)
    if kind == "half_sum":
        # (1/2N) sum_i ||out_i - y_i||^2
        return 0.5 * (out - y).pow(2).flatten(2).sum(-1).mean(1)
    if kind == "mse_mean":
        # nn.MSELoss: the mean over samples and coordinates (1/d of half_sum, times 2)
        return (out - y).pow(2).flatten(2).mean(-1).mean(1)
    raise ValueError(f"unknown loss {kind!r}")


def train(model: torch.nn.Module, data: dict, settings: TrainSettings, *, seeds: list[int],
          root_seed: int, label: str, checkpoint: str | Path | None = None,
          device: torch.device | None = None, fingerprint: str = "",
          on_epoch: Callable[[int], None] | None = None) -> TrainResult:
    device = device or torch.device("cpu")
    keep_freed_memory()  # every step reuses its tensors' pages (see engine/memory.py)
    model.to(device)
    dtype = next(model.parameters()).dtype
    x_tr, y_tr, x_te, y_te = (_to(data[k], device, dtype) for k in ("x_train", "y_train", "x_test", "y_test"))
    n, s = x_tr.shape[0], len(seeds)
    batch = settings.batch_size or n
    gens = [torch_generator(root_seed, label, "batches", seed) for seed in seeds]
    batches = Batches(settings.batching, n, batch, gens,
                      [torch_generator(root_seed, label, "partition", seed) for seed in seeds])
    rule = StopRule(settings.stopping, settings.loss_threshold, settings.patience, settings.min_improvement, s)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(settings, params)
    sched = MultiStepLR(opt, settings.milestones, settings.gamma)
    run = _Run(metrics=[], diverged={}, stops={}, start_epoch=0, resumed_from=None, steps=0, earlier_s=0.0)
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and ckpt.exists():
        _resume(ckpt, fingerprint, label, settings.epochs, model, opt, sched, gens, batches, rule, run)

    # A seed leaves the objective when it diverges or stops; a stopped seed's parameters are
    # held where they were (Adam would move them on its momentum even with a zero gradient).
    alive = torch.tensor([i not in run.diverged and i not in run.stops for i in range(s)], device=device)
    held = [p.detach().clone() for p in params]
    t0 = last_log = time.perf_counter()
    graph_shape = (s, min(batch, n), *x_tr.shape[1:])
    graphed = None
    if settings.cuda_graph and device.type == "cuda" and run.start_epoch < settings.epochs:
        model.train()
        graphed = graphed_forward(model, x_tr[:graph_shape[1]].expand(graph_shape).contiguous())
    bar = progress(range(run.start_epoch, settings.epochs), enabled=settings.progress, log_lines=False,
                   desc=label, unit="epoch", initial=run.start_epoch, total=settings.epochs)
    loop = _Loop(model, opt, params, held, settings, gens, seeds, batches, x_tr, y_tr, graphed, graph_shape)
    for epoch in bar:
        if _finished(settings, run, s):
            break
        train_loss, train_acc, alive = _train_epoch(loop, run, alive, epoch)
        sched.step()
        test = _evaluate(model, x_te, y_te, settings, s) if _due(settings.eval_every, epoch, settings.epochs) else None
        base = {"epoch": epoch + 1, "step": run.steps, "lr": opt.param_groups[0]["lr"]}
        _record_epoch(run, rule, settings, seeds, epoch, base, train_loss, train_acc, test)
        if run.stops:
            alive = alive & torch.tensor([i not in run.stops for i in range(s)], device=device)
            for p, h in zip(params, held):
                h[~alive] = p.detach()[~alive]
        if s and settings.progress:
            bar.set_postfix(loss=f"{min(train_loss):.3g}")
        if s and time.perf_counter() - last_log >= LOG_EVERY_S:
            last_log = time.perf_counter()
            log.info("%s: epoch %d of %d, train loss %s, %d of %d seeds training, %.0f s", label, epoch + 1,
                     settings.epochs, " ".join(f"{v:.4g}" for v in train_loss), int(alive.sum()), s, last_log - t0)
        if on_epoch:
            on_epoch(epoch + 1)
        if ckpt and (_finished(settings, run, s) or _due(settings.checkpoint_every, epoch, settings.epochs)):
            _save(ckpt, fingerprint, model, opt, sched, gens, batches, rule, run, epoch + 1,
                  None if run.earlier_s is None else run.earlier_s + time.perf_counter() - t0)
    sitting = time.perf_counter() - t0
    wall = None if run.earlier_s is None else run.earlier_s + sitting
    return TrainResult(run.metrics, run.diverged, wall, run.steps, run.resumed_from, sitting, run.stops)


@dataclass
class _Loop:
    """What one epoch's pass over the batches uses besides the run's state."""

    model: torch.nn.Module
    opt: object
    params: list
    held: list
    settings: TrainSettings
    gens: list
    seeds: list[int]
    batches: Batches
    x_tr: torch.Tensor
    y_tr: torch.Tensor
    graphed: Callable | None
    graph_shape: tuple


def _train_epoch(loop: _Loop, run: _Run, alive: torch.Tensor, epoch: int):
    """One pass over the training set, every seed at once: per seed the mean train loss and
    accuracy of the epoch, and which seeds are still training."""
    settings, (x_tr, y_tr), s = loop.settings, (loop.x_tr, loop.y_tr), len(loop.seeds)
    n, device = x_tr.shape[0], x_tr.device
    batch = settings.batch_size or n
    loop.model.train()
    orders = loop.batches.epoch()
    if orders is not None:
        orders = orders.to(device)
    loss_sum = torch.zeros(s, device=device, dtype=torch.float64)
    correct = torch.zeros(s, device=device, dtype=torch.float64)
    seen = 0
    for start in range(0, n, batch):
        if orders is None:
            xb = x_tr.expand(s, *x_tr.shape)
            yb = y_tr.expand(s, *y_tr.shape)
        else:
            idx = orders[:, start:start + batch]
            xb, yb = x_tr[idx], y_tr[idx]
        if settings.augment:
            xb = augment_images(xb, loop.gens)
        out = loop.graphed(xb) if loop.graphed is not None and xb.shape == loop.graph_shape else loop.model(xb)
        losses = per_seed_loss(out, yb, settings.loss)
        alive = _drop_diverged(losses, alive, loop.seeds, epoch, run)
        loop.opt.zero_grad(set_to_none=True)
        total = torch.where(alive, losses, torch.zeros_like(losses)).sum()
        if bool(alive.any()):
            total.backward()
            loop.opt.step()
            if run.stops:
                _hold(loop.params, loop.held, alive)
            if hasattr(loop.model, "project_"):
                loop.model.project_()
        run.steps += 1
        bsz = yb.shape[1]
        loss_sum += losses.detach().double() * bsz
        if settings.loss == "cross_entropy":
            correct += (out.detach().argmax(-1) == yb).double().sum(1)
        seen += bsz
    return (loss_sum / seen).tolist(), (correct / seen).tolist(), alive


def _record_epoch(run: _Run, rule: StopRule, settings: TrainSettings, seeds: list[int], epoch: int, base: dict,
                  train_loss: list, train_acc: list, test) -> None:
    """One metrics row per seed still training, and the seeds that stop at this epoch."""
    for i in [i for i in range(len(seeds)) if i not in run.stops]:
        row = dict(base, seed=seeds[i], train_loss=train_loss[i], diverged=i in run.diverged)
        if settings.loss_threshold is not None:
            row["below_threshold"] = bool(train_loss[i] < settings.loss_threshold)
        if settings.loss == "cross_entropy":
            row["train_accuracy"] = train_acc[i]
        if test is not None:
            row["test_loss"] = test[0][i]
            if test[1] is not None:
                row["test_accuracy"] = test[1][i]
        run.metrics.append(row)
        if i in run.diverged:  # recorded in `diverged`; its rows go on as before
            continue
        reason = rule.update(i, train_loss[i])
        if reason is None and epoch + 1 == settings.epochs:
            reason = "max_epochs"
        if reason is not None:
            run.stops[i] = {"seed": seeds[i], "epoch": epoch + 1, "reason": reason}
            row["stop_reason"] = reason


@dataclass
class _Run:
    """What a training run has done so far: all a checkpoint restores besides the tensors."""

    metrics: list[dict]
    diverged: dict[int, dict]
    stops: dict[int, dict]
    start_epoch: int
    resumed_from: int | None
    steps: int
    earlier_s: float | None


def _finished(settings: TrainSettings, run: _Run, s: int) -> bool:
    """Every seed has stopped by the stopping rule or diverged (never early under 'none')."""
    return settings.stopping != "none" and all(i in run.stops or i in run.diverged for i in range(s))


def _to(t: torch.Tensor, device, dtype) -> torch.Tensor:
    """Inputs and float targets in the model's dtype; class labels stay int64."""
    return t.to(device) if t.dtype == torch.int64 else t.to(device, dtype)


def _drop_diverged(losses, alive, seeds, epoch, run: _Run):
    newly = alive & ~torch.isfinite(losses)
    if bool(newly.any()):
        for i in torch.nonzero(newly).flatten().tolist():
            run.diverged[i] = {"seed": seeds[i], "epoch": epoch, "step": run.steps}
            log.warning("seed %d diverged at epoch %d, step %d", seeds[i], epoch, run.steps)
        alive = alive & torch.isfinite(losses)
    return alive


@torch.no_grad()
def _hold(params, held, alive) -> None:
    """Put the stopped seeds' slices (dimension 0 is the seed) back where they stopped."""
    for p, h in zip(params, held):
        p[~alive] = h[~alive]


def _save(ckpt, fingerprint, model, opt, sched, gens, batches, rule, run: _Run, epoch, wall_time_s):
    torch_save(ckpt, {
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "generators": [g.get_state() for g in gens],
        "batches": batches.state(),
        "stop_rule": rule.state(),
        "metrics": _pack_metrics(run.metrics),
        "diverged": {str(k): v for k, v in run.diverged.items()},
        "stops": {str(k): v for k, v in run.stops.items()},
        "epoch": epoch,
        "steps": run.steps,
        "wall_time_s": wall_time_s,
    })


def _resume(ckpt, fingerprint, label, settings_epochs, model, opt, sched, gens, batches, rule, run: _Run) -> None:
    # Loaded on the CPU whatever the device: the generators' states must stay CPU byte tensors
    # (set_state refuses any other), and load_state_dict moves the rest to the parameters' device.
    state = torch.load(ckpt, weights_only=True, map_location="cpu")
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: it belongs to another configuration", ckpt)
        return
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    for g, st in zip(gens, state["generators"]):
        g.set_state(st)
    batches.load(state.get("batches", {}))
    rule.load(state.get("stop_rule", {}))
    run.metrics = _unpack_metrics(state["metrics"])
    run.diverged = {int(k): v for k, v in state["diverged"].items()}
    run.stops = {int(k): v for k, v in state.get("stops", {}).items()}
    run.start_epoch = run.resumed_from = int(state["epoch"])
    run.steps = int(state["steps"])
    run.earlier_s = state.get("wall_time_s")
    # Steps, not only epochs: a cluster check (.ci/slurm_check.sh) reads k and the total from this line.
    total = run.steps * settings_epochs // run.start_epoch if run.start_epoch else 0
    log.info("resumed %s at step %d of %d (epoch %d of %d)", label, run.steps, total, run.start_epoch, settings_epochs)


def _due(every: int, epoch: int, total: int) -> bool:
    return every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == total)


def _optimizer(settings: TrainSettings, params):
    if settings.optimizer == "adam":
        return Adam(params, lr=settings.lr)
    if settings.optimizer in ("sgd", "gd"):
        return SGD(params, lr=settings.lr)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; use adam, sgd or gd")


@torch.no_grad()
def _evaluate(model, x, y, settings: TrainSettings, s: int, chunk: int = 1024):
    if x.shape[0] == 0:
        return None
    model.eval()
    losses = torch.zeros(s, dtype=torch.float64, device=x.device)
    correct = torch.zeros(s, dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], chunk):
        xb = x[start:start + chunk].expand(s, *x[start:start + chunk].shape)
        yb = y[start:start + chunk].expand(s, *y[start:start + chunk].shape)
        out = model(xb)
        losses += per_seed_loss(out, yb, settings.loss).double() * yb.shape[1]
        if settings.loss == "cross_entropy":
            correct += (out.argmax(-1) == yb).double().sum(1)
    n = x.shape[0]
    acc = (correct / n).tolist() if settings.loss == "cross_entropy" else None
    return (losses / n).tolist(), acc


# Checkpoints load with weights_only=True, which admits tensors and plain containers
# (string keys): metrics travel as a dict of columns, diverged seeds keyed by str(index).
def _pack_metrics(rows: list[dict]) -> dict:
    keys = sorted({k for r in rows for k in r})
    return {k: [r.get(k) for r in rows] for k in keys}


def _unpack_metrics(cols: dict) -> list[dict]:
    if not cols:
        return []
    n = len(next(iter(cols.values())))
    return [{k: v[i] for k, v in cols.items() if v[i] is not None} for i in range(n)]




def settings_dict(settings: TrainSettings) -> dict:
    return asdict(settings)
