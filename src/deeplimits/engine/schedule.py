"""How an epoch's batches are drawn, and when a seed stops training.

Batching (`TrainSettings.batching`):
- `randperm`: a fresh random permutation of the training set every epoch.
- `fixed_partition`: the set is cut once into n / batch batches (a random partition per
  seed); every epoch visits them in a fresh random order. The companion code of Cohen,
  Cont, Rossier & Xu (2021) does this (`reshape` into batches, then shuffles the batches),
  so the batch size must divide n.
- `shuffle_defect`: an ablation that emulates, on purpose, that code's defect:
  `np.random.shuffle` on a torch tensor swaps rows with `x[i], x[j] = x[j], x[i]`, and since
  `x[j]` is a view, both rows end as the old `x[j]`. Every epoch's "shuffle" therefore
  duplicates batches and overwrites the stored partition, so the set of distinct batches
  shrinks epoch after epoch. (Across depths of one released run the damaged set was reused;
  each of our cells starts from the whole set, so only the within-cell part is emulated.)

Stopping (`TrainSettings.stopping`), judged per seed on the epoch's running train loss
(the mean of its batch losses, as the companion code does):
- `none`: every seed trains `epochs` epochs.
- `threshold`: a seed stops after the first epoch whose loss is below `loss_threshold`.
- `threshold+plateau`: also stops after `patience` epochs in a row without a relative
  improvement of `min_improvement` over the best loss so far (the companion: 5 and 1%).
"""

from __future__ import annotations

import math

import torch

BATCHINGS = ("randperm", "fixed_partition", "shuffle_defect")
STOPPINGS = ("none", "threshold", "threshold+plateau")


class Batches:
    """Per-seed batch indices for each epoch, drawn from the seeds' own generators."""

    def __init__(self, kind: str, n: int, batch: int, gens: list[torch.Generator],
                 partition_gens: list[torch.Generator]):
        if kind not in BATCHINGS:
            raise ValueError(f"batching must be one of {', '.join(BATCHINGS)}, got {kind!r}")
        self.kind, self.n, self.batch, self.gens = kind, n, min(batch, n), gens
        self.partition = None
        if kind != "randperm" and batch < n:
            if n % batch:
                raise ValueError(f"batching {kind!r} cuts the {n} training samples into equal batches: "
                                 f"batch_size {batch} does not divide {n}")
            # (S, n / batch, batch): drawn once, from generators of their own, so resuming
            # rebuilds the same partition whatever the batch generators have drawn since.
            self.partition = torch.stack([torch.randperm(n, generator=g).view(-1, batch) for g in partition_gens])

    def epoch(self) -> torch.Tensor | None:
        """(S, n) sample indices in this epoch's order, or None for one full batch."""
        if self.batch >= self.n:
            return None
        if self.kind == "randperm":
            return torch.stack([torch.randperm(self.n, generator=g) for g in self.gens])
        if self.kind == "fixed_partition":
            orders = [torch.randperm(self.partition.shape[1], generator=g) for g in self.gens]
            return torch.stack([p[o] for p, o in zip(self.partition, orders)]).flatten(1)
        for p, g in zip(self.partition, self.gens):
            for i in range(p.shape[0] - 1, 0, -1):
                j = int(torch.randint(0, i + 1, (1,), generator=g))
                p[i] = p[j]  # the defect: x[i] takes x[j], and x[j] keeps it
        return self.partition.flatten(1).clone()

    def state(self) -> dict:
        return {} if self.partition is None else {"partition": self.partition.clone()}

    def load(self, state: dict) -> None:
        if self.kind == "shuffle_defect" and "partition" in state:
            self.partition = state["partition"].clone()


class StopRule:
    """Which seeds stop after an epoch, and why ('threshold' or 'plateau')."""

    def __init__(self, kind: str, threshold: float | None, patience: int, min_improvement: float, seeds: int):
        if kind not in STOPPINGS:
            raise ValueError(f"stopping must be one of {', '.join(STOPPINGS)}, got {kind!r}")
        if kind != "none" and threshold is None:
            raise ValueError(f"stopping {kind!r} needs a loss_threshold")
        self.kind, self.threshold = kind, threshold
        self.patience, self.min_improvement = patience, min_improvement
        self.best = [math.inf] * seeds
        self.bad = [0] * seeds

    def update(self, i: int, loss: float) -> str | None:
        if self.kind == "none":
            return None
        # The companion's order: the plateau counter first, then the threshold.
        if loss < (1.0 - self.min_improvement) * self.best[i]:
            self.best[i], self.bad[i] = loss, 0
        else:
            self.bad[i] += 1
        if loss < self.threshold:
            return "threshold"
        if self.kind == "threshold+plateau" and self.bad[i] >= self.patience:
            return "plateau"
        return None

    def state(self) -> dict:
        return {"best": list(self.best), "bad": list(self.bad)}

    def load(self, state: dict) -> None:
        if state:
            self.best, self.bad = list(state["best"]), list(state["bad"])
