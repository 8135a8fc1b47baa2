import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from deeplimits.cells import run_cell
from deeplimits.data.prepare import prepare_dataset
from deeplimits.engine import TrainSettings, train, trainer
from deeplimits.models import ResidualMLP
from deeplimits.plan import Cell
from deeplimits.provenance import training_summary
from deeplimits.seeding import torch_generator

HZ_SETTINGS = dict(dataset="digits", depth=3, width=4, branch_layers=2, block="conv", alpha=0.2,
                   epochs=3, batch_size=128, lr=1e-3, milestones=[2], augment=False, seeds=2,
                   checkpoint_every=1)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits.pt"
    prepare_dataset("digits", {"digits": {"test_fraction": 0.2}}, 0, path)
    return path


def _weights(folder):
    return torch.load(folder / "weights.pt", weights_only=True)["state"]


def test_seeds_trained_together_equal_seeds_trained_alone(digits, tmp_path):
    cell = Cell("hz2", "digits", "a0.2", 3)
    run_cell(cell, HZ_SETTINGS, digits, tmp_path / "both", root_seed=0, show_progress=False)
    # Seeds are numbered 0..S-1: a cell with seeds=1 trains seed 0 alone.
    run_cell(cell, dict(HZ_SETTINGS, seeds=1), digits, tmp_path / "alone", root_seed=0, show_progress=False)
    both, alone = _weights(tmp_path / "both"), _weights(tmp_path / "alone")
    for name in alone:
        assert torch.allclose(both[name][0], alone[name][0], atol=1e-5), name
    m_both = pd.read_csv(tmp_path / "both" / "metrics.csv")
    m_alone = pd.read_csv(tmp_path / "alone" / "metrics.csv")
    a = m_both[m_both.seed == 0].train_loss.to_numpy()
    b = m_alone.train_loss.to_numpy()
    assert a == pytest.approx(b, rel=1e-5)
    # The two seeds really are different runs.
    assert not torch.allclose(both["V.0"][0], both["V.0"][1])


def test_outputs_load_with_weights_only_and_carry_provenance(digits, tmp_path):
    cell = Cell("hz2", "digits", "a0.2", 3)
    record = run_cell(cell, dict(HZ_SETTINGS, epochs=1), digits, tmp_path, root_seed=0, show_progress=False)
    blob = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert blob["state"]["V.0"].shape[:2] == (2, 3)
    for key in ("config", "config_hash", "versions", "git_commit", "device", "wall_time_s", "steps_per_s"):
        assert key in record
    assert record["versions"]["torch"].startswith("2.14")


def test_divergence_is_recorded_per_seed_and_others_continue():
    gens = [torch_generator(0, "div", i) for i in range(2)]
    model = ResidualMLP(gens, dim=4, depth=3, activation="identity", delta="one", dtype=torch.float64)
    with torch.no_grad():
        model.A[1].fill_(1e200)  # seed 1 overflows on its first forward pass
    x = torch.eye(4, dtype=torch.float64)
    data = {"x_train": x, "y_train": x.flip(0), "x_test": x[:0], "y_test": x[:0]}
    result = train(model, data, TrainSettings(epochs=5, optimizer="gd", lr=0.1, loss="half_sum", eval_every=0,
                                              progress=False),
                   seeds=[0, 1], root_seed=0, label="div")
    assert result.diverged == {1: {"seed": 1, "epoch": 0, "step": 0}}
    losses = [r["train_loss"] for r in result.metrics if r["seed"] == 0]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert all(r["diverged"] for r in result.metrics if r["seed"] == 1)


def test_long_training_logs_its_progress_without_a_bar(monkeypatch, caplog):
    import deeplimits.engine.trainer as trainer

    monkeypatch.setattr(trainer, "LOG_EVERY_S", 0.0)  # every epoch counts as long
    gens = [torch_generator(0, "log", i) for i in range(2)]
    model = ResidualMLP(gens, dim=4, depth=3, activation="tanh", delta="one", dtype=torch.float64)
    x = torch.eye(4, dtype=torch.float64)
    data = {"x_train": x, "y_train": x.flip(0), "x_test": x[:0], "y_test": x[:0]}
    with caplog.at_level("INFO", logger="deeplimits.engine.trainer"):
        train(model, data, TrainSettings(epochs=3, optimizer="gd", lr=0.1, loss="half_sum", eval_every=0,
                                         progress=False), seeds=[0, 1], root_seed=0, label="cellX")
    lines = [r.getMessage() for r in caplog.records if "epoch" in r.getMessage()]
    assert [line.split(",")[0] for line in lines] == [f"cellX: epoch {e} of 3" for e in (1, 2, 3)]
    assert all(len(line.split("train loss ")[1].split(",")[0].split()) == 2 for line in lines)  # one per seed


RESUME_SCRIPT = """
import logging, sys, time
logging.basicConfig(level=logging.INFO)
from deeplimits.cells import run_cell
from deeplimits.plan import Cell
import deeplimits.engine.trainer as tr
orig = tr.torch_save
def slow_save(path, obj):
    orig(path, obj)
    time.sleep(float(sys.argv[3]))  # leave time to be killed after a checkpoint
tr.torch_save = slow_save
settings = {settings!r}
run_cell(Cell("hz2", "digits", "a0.2", 3), settings, sys.argv[1], sys.argv[2], root_seed=0, show_progress=False)
"""


def test_killed_job_resumes_to_the_same_weights(digits, tmp_path):
    settings = dict(HZ_SETTINGS, epochs=4)
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(settings=settings))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(digits), str(killed), "2.0"], env=env)
    ckpt = killed / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline:
        if ckpt.exists() and torch.load(ckpt, weights_only=True)["epoch"] >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "weights.pt").exists(), "the job finished before it could be killed"
    epoch_at_kill = torch.load(ckpt, weights_only=True)["epoch"]
    assert 2 <= epoch_at_kill < 4
    rerun = subprocess.run([sys.executable, str(script), str(digits), str(killed), "0"], env=env, check=True,
                           capture_output=True, text=True)
    prov = pd.read_json(killed / "provenance.json", typ="series")
    assert prov["resumed_from_epoch"] == epoch_at_kill
    # The log names the step resumed at and the total (the SLURM check reads this line).
    per_epoch = prov["steps"] // 4
    assert f"resumed hz2/digits/a0.2/L3 at step {per_epoch * epoch_at_kill} of {per_epoch * 4} " \
           f"(epoch {epoch_at_kill} of 4)" in rerun.stderr, rerun.stderr[-2000:]
    # The time is that of both sittings: the first slept 2 s after its epoch-1 checkpoint.
    assert prov["wall_time_s"] >= prov["sitting_wall_time_s"] + 2.0
    assert prov["steps_per_s"] == pytest.approx(prov["steps"] / prov["wall_time_s"], rel=1e-3)
    run_cell(Cell("hz2", "digits", "a0.2", 3), settings, digits, tmp_path / "straight", root_seed=0,
             show_progress=False)
    assert not ckpt.exists()  # the rerun finished the cell
    a, b = _weights(killed), _weights(tmp_path / "straight")
    for name in a:
        assert torch.equal(a[name], b[name]), name
    ma = pd.read_csv(killed / "metrics.csv")
    mb = pd.read_csv(tmp_path / "straight" / "metrics.csv")
    assert ma.train_loss.tolist() == mb.train_loss.tolist()


class Interrupted(Exception):
    pass


def interrupted_cell(monkeypatch, cell, settings, digits, out):
    """Run a cell that stops right after its first checkpoint, as a killed job; its checkpoint."""
    save = trainer.torch_save

    def save_then_stop(path, obj):
        save(path, obj)
        raise Interrupted

    with monkeypatch.context() as m:
        m.setattr(trainer, "torch_save", save_then_stop)
        with pytest.raises(Interrupted):
            run_cell(cell, settings, digits, out, root_seed=0, show_progress=False)
    assert (out / "checkpoint.pt").exists() and not (out / "weights.pt").exists()
    return out / "checkpoint.pt"


def test_a_finished_cell_leaves_no_checkpoint(digits, tmp_path):
    run_cell(Cell("hz2", "digits", "a0.2", 3), dict(HZ_SETTINGS, epochs=2), digits, tmp_path, root_seed=0,
             show_progress=False)
    assert (tmp_path / "weights.pt").exists() and not (tmp_path / "checkpoint.pt").exists()


def test_checkpoint_of_another_configuration_is_ignored(digits, tmp_path, monkeypatch):
    cell = Cell("hz2", "digits", "a0.2", 3)
    interrupted_cell(monkeypatch, cell, dict(HZ_SETTINGS, epochs=2), digits, tmp_path)
    record = run_cell(cell, dict(HZ_SETTINGS, epochs=2, lr=5e-3), digits, tmp_path, root_seed=0,
                      show_progress=False)
    assert record["resumed_from_epoch"] is None


def test_a_grown_grid_keeps_the_checkpoints_of_its_cells(digits, tmp_path, monkeypatch):
    cell = Cell("hz2", "digits", "a0.2", 3)
    interrupted_cell(monkeypatch, cell, dict(HZ_SETTINGS, epochs=2), digits, tmp_path)
    grown = dict(HZ_SETTINGS, epochs=2, depths=[3, 5], alphas=[0.2, 0.5], scale="paper", tolerance=1.0)
    record = run_cell(cell, grown, digits, tmp_path, root_seed=0, show_progress=False)
    assert record["resumed_from_epoch"] == 1


def test_a_checkpoint_without_its_time_leaves_the_total_time_unknown(digits, tmp_path, monkeypatch):
    cell = Cell("hz2", "digits", "a0.2", 3)
    ckpt = interrupted_cell(monkeypatch, cell, dict(HZ_SETTINGS, epochs=2), digits, tmp_path)
    state = torch.load(ckpt, weights_only=True)
    del state["wall_time_s"]  # as checkpoints were written before the time was kept
    torch.save(state, ckpt)
    record = run_cell(cell, dict(HZ_SETTINGS, epochs=2), digits, tmp_path, root_seed=0, show_progress=False)
    assert record["resumed_from_epoch"] == 1
    assert "wall_time_s" not in record and record["steps_per_s"] is None
    known = run_cell(Cell("hz2", "digits", "a0.2", 2), dict(HZ_SETTINGS, epochs=1), digits, tmp_path / "other",
                     root_seed=0, show_progress=False)
    summary = training_summary([record, known])
    assert summary["cells_with_unknown_time"] == ["hz2/digits/a0.2/L3"]
    assert summary["training_wall_time_s"] == pytest.approx(known["wall_time_s"])


# Loading into a meta model copies nothing (torch warns so per parameter): meta stands in for
# a GPU here only to check which tensors the resume moves.
@pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter")
def test_a_checkpoint_written_on_one_device_resumes_on_another(digits):
    """A checkpoint written on the CPU resumes with another device argument (`meta` stands in
    for a GPU): the generators' states stay CPU byte tensors, the rest follows the model."""
    import tempfile

    from deeplimits.cells import build
    from deeplimits.data import load_prepared

    data = load_prepared(digits)
    cell = Cell("hz2", "digits", "a0.2", 3)
    settings = dict(HZ_SETTINGS, epochs=1)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = f"{tmp}/checkpoint.pt"
        model, ts, seeds = build(cell, settings, data, 0)
        train(model, data, ts, seeds=seeds, root_seed=0, label="cell", checkpoint=ckpt, fingerprint="f")
        saved = torch.load(ckpt, weights_only=True)
        model, ts, seeds = build(cell, settings, data, 0)
        result = train(model.to("meta"), data, ts, seeds=seeds, root_seed=0, label="cell", checkpoint=ckpt,
                       device=torch.device("meta"), fingerprint="f")
    assert result.resumed_from == 1 and result.steps == saved["steps"]
    assert next(model.parameters()).device.type == "meta"


def test_augmentation_is_per_seed_deterministic_and_flip_only_mirrors():
    from deeplimits.engine.augment import augment_images

    x = torch.rand(2, 4, 3, 8, 8)
    a = augment_images(x, [torch_generator(0, "aug", s) for s in range(2)])
    b = augment_images(x, [torch_generator(0, "aug", s) for s in range(2)])
    assert a.shape == x.shape and torch.equal(a, b)
    # Seed 1 alone draws what it drew in the stack.
    alone = augment_images(x[1:], [torch_generator(0, "aug", 1)])
    assert torch.allclose(alone[0], a[1])
    # With no rotation and no shift, a flip mirrors the image exactly (or leaves it as is).
    plain = augment_images(x, [torch_generator(0, "aug", s) for s in range(2)], pad=0, max_degrees=0.0)
    for img, out in zip(x.flatten(0, 1), plain.flatten(0, 1)):
        assert torch.allclose(out, img, atol=1e-5) or torch.allclose(out, img.flip(-1), atol=1e-5)


def test_training_with_augmentation_runs_and_learns(digits, tmp_path):
    cell = Cell("hz2", "digits", "a0.2", 3)
    run_cell(cell, dict(HZ_SETTINGS, epochs=2, augment=True), digits, tmp_path, root_seed=0, show_progress=False)
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert m.train_loss.notna().all() and (m.epoch == 2).sum() == 2


def _cuda_sample():
    # graphed_forward decides by the sample's device; capture itself is faked below.
    return type("Sample", (), {"device": torch.device("cuda"), "shape": (1, 4, 3)})()


def test_cuda_graph_wrapper_keeps_the_eager_forward(monkeypatch):
    from deeplimits.engine import cuda_graph

    model = ResidualMLP([torch_generator(0, "g", 0)], dim=3, depth=2, init_std=1.0)

    def fake_capture(module, args):
        # What make_graphed_callables does to a module: an instance-level forward.
        module.forward = lambda x: ("graphed", x)
        return module

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", fake_capture)
    replay = cuda_graph.graphed_forward(model, _cuda_sample())
    assert replay("x") == ("graphed", "x")
    assert "forward" not in model.__dict__  # other shapes and evaluation run the eager forward
    assert model(torch.zeros(1, 4, 3)).shape == (1, 4, 3)


def test_cuda_graph_capture_failure_falls_back_to_eager(monkeypatch, caplog):
    from deeplimits.engine import cuda_graph

    model = ResidualMLP([torch_generator(0, "g", 0)], dim=3, depth=2, init_std=1.0)

    def failing_capture(module, args):
        module.forward = lambda x: x
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", failing_capture)
    assert cuda_graph.graphed_forward(model, _cuda_sample()) is None
    assert "not permitted" in caplog.text
    assert "forward" not in model.__dict__
    assert cuda_graph.graphed_forward(model, torch.zeros(1, 4, 3)) is None  # CPU: never captured


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_training_equals_eager_training():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(100, 16, generator=gen), torch.randn(100, 16, generator=gen)
    data = {"x_train": x, "y_train": y, "x_test": x[:0], "y_test": y[:0]}
    weights = {}
    for graph in (False, True):
        model = ResidualMLP([torch_generator(0, "graph", s) for s in range(2)], dim=16, depth=32,
                            activation="tanh", delta="shared", trainable=("A", "delta"), init_std=1.0)
        # 100 samples in batches of 32: the last batch of 4 takes the eager path.
        settings = TrainSettings(epochs=3, batch_size=32, optimizer="adam", lr=1e-3, loss="half_sum",
                                 eval_every=0, progress=False, cuda_graph=graph)
        train(model, data, settings, seeds=[0, 1], root_seed=0, label="graph", device=torch.device("cuda"))
        weights[graph] = model.A.detach().cpu()
    assert not torch.equal(weights[False], ResidualMLP([torch_generator(0, "graph", s) for s in range(2)], dim=16,
                                                       depth=32, init_std=1.0).A.detach())
    assert torch.allclose(weights[True], weights[False], atol=1e-6)


@pytest.mark.parametrize("warning, cuda, expected", [
    ("CUDA initialization: The NVIDIA driver on your system is too old (found version 12020).", "13.0",
     "NVIDIA driver is too old for this torch build (CUDA 13.0)"),
    (None, "13.0", "no CUDA device is visible"),
    (None, None, "this torch build has no CUDA support"),
])
def test_asking_for_cuda_without_a_usable_one_stops_and_names_the_cause(monkeypatch, warning, cuda, expected):
    import warnings

    def unavailable():
        if warning:
            warnings.warn(warning, UserWarning, stacklevel=1)
        return False

    monkeypatch.setattr(torch.cuda, "is_available", unavailable)
    monkeypatch.setattr(torch.version, "cuda", cuda)
    with pytest.raises(RuntimeError) as err:
        trainer.resolve_device("cuda")
    message = str(err.value)
    assert expected in message and "device=cpu" in message and "cpu_only=true" in message
    # `auto` outside paper scale goes on quietly on the CPU.
    assert trainer.resolve_device("auto").type == "cpu"
