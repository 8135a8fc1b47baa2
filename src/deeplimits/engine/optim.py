"""The engine's optimisers and learning-rate schedule: Adam, SGD and a multi-step decay, with
the arithmetic of torch.optim's single-tensor Adam and SGD and of MultiStepLR, bit for bit
(tested), and their state_dict layout, so that checkpoints written with either resume.

Why not torch.optim itself: its Optimizer methods are wrapped by torch._disable_dynamo,
whose first call imports torch._dynamo (and sympy with it), close to a second per process,
and every training job is a process of its own (over a hundred in the quick replication,
where a typical job trains for a second or two; bench/train_throughput.py warms both up).

Adam, for a parameter p with gradient g at step t (no weight decay, no amsgrad):

    m <- m + (1 - beta1) (g - m),   v <- beta2 v + (1 - beta2) g^2,
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).

SGD (no momentum): p <- p - lr g. Parameters without a gradient are skipped.
"""

from __future__ import annotations

import torch


class _Optimizer:
    """What the trainer uses of torch.optim.Optimizer: param_groups (one group), state,
    zero_grad, step, state_dict, load_state_dict."""

    defaults: dict = {}

    def __init__(self, params, lr: float, **settings):
        self.params = list(params)
        self.param_groups = [{"lr": lr, **self.defaults, **settings, "params": list(range(len(self.params)))}]
        self.state: dict[int, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def state_dict(self) -> dict:
        return {"state": {i: dict(s) for i, s in self.state.items()},
                "param_groups": [dict(g) for g in self.param_groups]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Also reads torch.optim's own state_dict (the same layout, more keys per group)."""
        group = state_dict["param_groups"][0]
        if len(state_dict["param_groups"]) != 1 or len(group["params"]) != len(self.params):
            raise ValueError("optimizer state does not match the parameters: "
                             f"{len(group['params'])} saved, {len(self.params)} here")
        self.param_groups[0]["lr"] = group["lr"]
        self.state = {}
        for key, saved in state_dict["state"].items():
            p = self.params[int(key)]
            # As torch.optim does: moments in the parameter's dtype and device, the step
            # count as it was saved.
            self.state[int(key)] = {name: value if name == "step" else value.to(p.device, p.dtype)
                                    for name, value in saved.items()}


class Adam(_Optimizer):
    defaults = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False}

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            grad = p.grad
            state = self.state.get(i)
            if state is None:
                # torch.optim keeps the count as a float32 scalar on the CPU.
                state = self.state[i] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                         "exp_avg_sq": torch.zeros_like(p)}
            state["step"] += 1
            state["exp_avg"].lerp_(grad, 1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            t = state["step"].item()
            step_size = lr / (1 - beta1**t)
            denom = (state["exp_avg_sq"].sqrt() / (1 - beta2**t) ** 0.5).add_(eps)
            p.addcdiv_(state["exp_avg"], denom, value=-step_size)


class SGD(_Optimizer):
    defaults = {"momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False}

    @torch.no_grad()
    def step(self) -> None:
        lr = self.param_groups[0]["lr"]
        for p in self.params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-lr)


class MultiStepLR:
    """lr <- lr * gamma^(times the epoch appears in milestones), at the end of each epoch."""

    def __init__(self, optimizer: _Optimizer, milestones, gamma: float = 0.1):
        self.optimizer, self.gamma = optimizer, gamma
        self.milestones: dict[int, int] = {}
        for m in milestones:
            self.milestones[m] = self.milestones.get(m, 0) + 1
        self.last_epoch = -1
        self.step()  # epoch 0, as torch's scheduler does on construction

    def step(self) -> None:
        self.last_epoch += 1
        if self.last_epoch in self.milestones:
            for group in self.optimizer.param_groups:
                group["lr"] = group["lr"] * self.gamma ** self.milestones[self.last_epoch]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "milestones": dict(self.milestones), "gamma": self.gamma,
                "_last_lr": [g["lr"] for g in self.optimizer.param_groups]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Also reads torch's MultiStepLR state_dict: the epoch count is what resumes (the
        lr itself comes back with the optimizer's state)."""
        self.last_epoch = int(state_dict["last_epoch"])
