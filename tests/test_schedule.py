"""Batching and stopping (engine/schedule.py), and what the trainer does with them."""

import pandas as pd
import pytest
import torch

from deeplimits.cells import run_cell
from deeplimits.engine import TrainSettings, train
from deeplimits.engine.schedule import Batches, StopRule
from deeplimits.engine.trainer import per_seed_loss
from deeplimits.models import ResidualMLP
from deeplimits.plan import Cell
from deeplimits.seeding import torch_generator


def _gens(n, tag):
    return [torch_generator(0, tag, i) for i in range(n)]


def test_randperm_and_fixed_partition_visit_every_sample_once():
    for kind in ("randperm", "fixed_partition"):
        b = Batches(kind, 12, 4, _gens(2, "b"), _gens(2, "p"))
        for _ in range(3):
            order = b.epoch()
            assert order.shape == (2, 12)
            assert all(sorted(o.tolist()) == list(range(12)) for o in order)


def test_fixed_partition_keeps_its_batches_and_reorders_them():
    b = Batches("fixed_partition", 12, 4, _gens(1, "b"), _gens(1, "p"))
    epochs = [b.epoch()[0].view(3, 4) for _ in range(6)]
    batch_sets = [sorted(tuple(sorted(r.tolist())) for r in e) for e in epochs]
    assert all(s == batch_sets[0] for s in batch_sets)      # the same three batches ...
    assert len({tuple(e[:, 0].tolist()) for e in epochs}) > 1  # ... in another order


def test_fixed_partition_needs_a_dividing_batch_size():
    with pytest.raises(ValueError, match="batch_size 50 does not divide 1024"):
        Batches("fixed_partition", 1024, 50, _gens(1, "b"), _gens(1, "p"))
    with pytest.raises(ValueError, match="batching must be one of"):
        Batches("shuffled", 8, 4, _gens(1, "b"), _gens(1, "p"))


def test_shuffle_defect_duplicates_batches_like_numpy_on_a_tensor():
    """np.random.shuffle on a torch tensor: `x[i], x[j] = x[j], x[i]` through views."""
    b = Batches("shuffle_defect", 64, 4, _gens(1, "b"), _gens(1, "p"))
    distinct = []
    for _ in range(4):
        order = b.epoch()[0].view(16, 4)
        distinct.append(len({tuple(r.tolist()) for r in order}))
    assert distinct[0] < 16 and distinct[-1] < distinct[0]
    # The same swap through real torch views duplicates rows in the same way.
    x = torch.arange(5).view(5, 1).clone()
    x[3], x[1] = x[1], x[3]
    assert x.flatten().tolist() == [0, 1, 2, 1, 4]


def test_stop_rule_threshold_and_plateau():
    rule = StopRule("threshold+plateau", 1e-3, patience=2, min_improvement=0.01, seeds=2)
    # seed 0 improves to the threshold; seed 1 stalls (less than 1% better twice).
    assert [rule.update(0, v) for v in (1.0, 0.5, 0.0009)] == [None, None, "threshold"]
    assert [rule.update(1, v) for v in (1.0, 0.995, 0.994)] == [None, None, "plateau"]
    only = StopRule("threshold", 1e-3, patience=2, min_improvement=0.01, seeds=1)
    assert [only.update(0, v) for v in (1.0, 1.0, 1.0, 1e-4)] == [None, None, None, "threshold"]
    assert StopRule("none", None, 5, 0.01, 1).update(0, 0.0) is None
    with pytest.raises(ValueError, match="needs a loss_threshold"):
        StopRule("threshold", None, 5, 0.01, 1)


def test_mse_mean_is_nn_mseloss_and_half_sum_its_d_over_2_multiple():
    out, y = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 5, 3, dtype=torch.float64)
    mean = per_seed_loss(out, y, "mse_mean")
    assert mean[1] == pytest.approx(float(torch.nn.MSELoss()(out[1], y[1])))
    assert per_seed_loss(out, y, "half_sum") == pytest.approx(1.5 * mean)


def _problem(seeds=2, depth=4):
    model = ResidualMLP(_gens(seeds, "stop"), dim=4, depth=depth, activation="tanh", delta="shared", bias=True,
                        trainable=("A", "b", "delta"), init_std=0.1, init_scaling="d2", bias_std=0.1,
                        dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 4, generator=g, dtype=torch.float64)
    data = {"x_train": x, "y_train": 0.5 * x, "x_test": x[:0], "y_test": x[:0]}
    return model, data


def test_a_stopped_seed_keeps_its_weights_while_the_others_train():
    model, data = _problem()
    # A threshold that seed 0 meets and seed 1 never can: seed 1's targets are set far off.
    settings = TrainSettings(epochs=6, batch_size=4, optimizer="adam", lr=1e-2, loss="mse_mean", eval_every=0,
                             progress=False, stopping="threshold", loss_threshold=1.0, batching="fixed_partition")
    result = train(model, data, settings, seeds=[0, 1], root_seed=0, label="stop")
    m = pd.DataFrame(result.metrics)
    assert result.stops[0]["reason"] == "threshold" and result.stops[0]["epoch"] == 1
    assert m[m.seed == 0].epoch.max() == 1  # no rows after it stopped
    # The same seed trained alone for one epoch ends at the same weights: a stopped seed is
    # held where it stopped (Adam's momentum would move it on otherwise).
    alone, data1 = _problem(seeds=1)
    train(alone, data1, TrainSettings(**{**settings.__dict__, "epochs": 1, "stopping": "none"}),
          seeds=[0], root_seed=0, label="stop")
    assert torch.allclose(model.A[0], alone.A[0], atol=1e-12)


def test_every_seed_stopped_ends_training_and_records_reasons():
    model, data = _problem()
    settings = TrainSettings(epochs=50, batch_size=4, optimizer="adam", lr=1e-2, loss="mse_mean", eval_every=0,
                             progress=False, stopping="threshold", loss_threshold=10.0)
    result = train(model, data, settings, seeds=[0, 1], root_seed=0, label="stop")
    assert {v["reason"] for v in result.stops.values()} == {"threshold"}
    assert max(r["epoch"] for r in result.metrics) == 1
    settings.stopping, settings.epochs = "none", 2
    result = train(*_problem(), settings, seeds=[0, 1], root_seed=0, label="stop")
    assert [v["reason"] for v in result.stops.values()] == ["max_epochs", "max_epochs"]


class _Stop(Exception):
    pass


@pytest.mark.parametrize("batching", ["shuffle_defect", "fixed_partition"])
def test_interrupted_training_resumes_exactly_with_batching_and_stop_rule(tmp_path, batching):
    settings = TrainSettings(epochs=30, batch_size=4, optimizer="adam", lr=3e-3, loss="mse_mean", eval_every=0,
                             progress=False, stopping="threshold+plateau", loss_threshold=0.02, patience=3,
                             batching=batching, checkpoint_every=1)
    whole, data = _problem()
    ref = train(whole, data, settings, seeds=[0, 1], root_seed=0, label="resume")

    def interrupt(epoch):
        if epoch == 4:
            raise _Stop

    model, data = _problem()
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(_Stop):
        train(model, data, settings, seeds=[0, 1], root_seed=0, label="resume", checkpoint=ckpt,
              fingerprint="f", on_epoch=interrupt)
    model, data = _problem()  # a fresh process: nothing but the checkpoint survives
    res = train(model, data, settings, seeds=[0, 1], root_seed=0, label="resume", checkpoint=ckpt, fingerprint="f")
    assert res.resumed_from == 3  # on_epoch runs before the epoch's checkpoint
    assert res.stops == ref.stops
    assert {s["epoch"] for s in ref.stops.values()} != {30}  # a seed stopped by the rule, after the interruption
    assert torch.equal(model.A, whole.A) and torch.equal(model.delta, whole.delta)
    assert [r["train_loss"] for r in res.metrics] == [r["train_loss"] for r in ref.metrics]


CRX4 = dict(init_method="xavier", s0=1e-4, loss="mse_mean", stopping="threshold+plateau", loss_threshold=1e-3,
            patience=5, min_improvement=0.01, batching="fixed_partition", epochs=12, batch_size=32, lr=1e-3, seeds=2,
            checkpoint_every=3)


def test_crx4_cell_records_where_each_seed_stopped(tmp_path):
    from deeplimits.data.prepare import prepare_dataset

    data = tmp_path / "ode.pt"
    prepare_dataset("ode", {"ode": {"dim": 10, "n_train": 256, "n_test": 64, "horizon": 100}}, 0, data)
    record = run_cell(Cell("crx4", "ode", "tanh_shared", 6), CRX4, data, tmp_path, root_seed=0, show_progress=False)
    blob = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert len(record["stops"]) == 2 and blob["stops"]["0"]["reason"] in ("threshold", "plateau", "max_epochs")
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert m.groupby("seed").epoch.max().tolist() == [s["epoch"] for s in record["stops"]]
    # 'xavier-depth' divides the init by L: the same draw, 6 times smaller.
    deep = run_cell(Cell("crx4", "ode", "tanh_shared", 6), dict(CRX4, init_method="xavier-depth", epochs=1,
                    stopping="none"), data, tmp_path / "xd", root_seed=0, show_progress=False)
    assert deep["train_settings"]["stopping"] == "none"
