"""engine/optim.py against torch.optim: the same parameters bit for bit over many steps
(Adam, SGD, the multi-step decay), checkpoints of either resumed by ours, and a training
job that never imports torch._dynamo (the reason these exist)."""

import subprocess
import sys

import pytest
import torch

from deeplimits.engine.optim import SGD, Adam, MultiStepLR


def _params(dtype):
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(3, 4, 5, generator=gen, dtype=dtype).requires_grad_(),
            torch.randn(3, 1, generator=gen, dtype=dtype).requires_grad_()]


def _run(make_opt, make_sched, dtype, epochs=8, steps=5, state=None, start=0):
    """Trains two parameters on a fixed quadratic-plus-sine loss; the second parameter has
    no gradient on every third step. Returns the parameters, optimiser and lr history."""
    params = _params(dtype)
    opt = make_opt(params)
    sched = make_sched(opt)
    if state is not None:
        with torch.no_grad():
            for p, saved in zip(params, state["params"]):
                p.copy_(saved)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
    lrs = []
    for epoch in range(start, start + epochs):
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = (params[0] ** 2).sum() + torch.sin(params[0] * (epoch + 1)).sum()
            if step % 3 != 2:
                loss = loss + (params[1] ** 4).sum()
            loss.backward()
            opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return params, opt, sched, lrs


CASES = {
    "adam": (lambda ps: Adam(ps, lr=1e-2), lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    "sgd": (lambda ps: SGD(ps, lr=1e-2), lambda ps: torch.optim.SGD(ps, lr=1e-2)),
}
MILESTONES = [2, 5, 5]  # 5 twice: gamma^2 there


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_parameters_as_torch_optim_bit_for_bit(name, dtype):
    ours, theirs = CASES[name]
    a, _, _, lrs_a = _run(ours, lambda o: MultiStepLR(o, MILESTONES, 0.3), dtype)
    b, _, _, lrs_b = _run(theirs, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, MILESTONES, 0.3), dtype)
    assert lrs_a == lrs_b and lrs_a[1] == 1e-2 * 0.3 and lrs_a[4] == pytest.approx(1e-2 * 0.3**3)
    for p, q in zip(a, b):
        assert torch.equal(p, q)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_checkpoint_of_either_resumes_to_the_same_parameters(name):
    ours, theirs = CASES[name]
    sched_ours = lambda o: MultiStepLR(o, MILESTONES, 0.3)  # noqa: E731
    sched_theirs = lambda o: torch.optim.lr_scheduler.MultiStepLR(o, MILESTONES, 0.3)  # noqa: E731
    whole, _, _, _ = _run(ours, sched_ours, torch.float64, epochs=8)
    for make_opt, make_sched in ((ours, sched_ours), (theirs, sched_theirs)):
        half, opt, sched, _ = _run(make_opt, make_sched, torch.float64, epochs=3)
        state = {"params": [p.detach().clone() for p in half], "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict()}
        rest, resumed, _, lrs = _run(ours, sched_ours, torch.float64, epochs=5, state=state, start=3)
        assert all(torch.equal(p, q) for p, q in zip(rest, whole))
        assert lrs[-1] == pytest.approx(1e-2 * 0.3**3)


def test_loading_a_state_for_other_parameters_names_the_mismatch():
    opt = Adam(_params(torch.float64), lr=1e-3)
    with pytest.raises(ValueError, match="1 saved, 2 here"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 1e-3, "params": [0]}]})


def test_a_training_job_never_imports_torch_dynamo():
    code = """
import sys, torch
from deeplimits.engine import TrainSettings, train
from deeplimits.models import ResidualMLP
from deeplimits.seeding import torch_generator
model = ResidualMLP([torch_generator(0, "t", 0)], dim=4, depth=3, trainable=("A",), init_std=1.0)
x = torch.randn(16, 4)
data = {"x_train": x, "y_train": x, "x_test": x[:4], "y_test": x[:4]}
train(model, data, TrainSettings(epochs=2, batch_size=8, optimizer="adam", lr=1e-3, loss="half_sum",
      milestones=[1], progress=False), seeds=[0], root_seed=0, label="t")
print("torch._dynamo" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "False"
