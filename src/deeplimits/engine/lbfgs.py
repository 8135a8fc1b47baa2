"""Deterministic full-batch L-BFGS (float64) for small problems such as TvG's objective."""

from __future__ import annotations

from collections.abc import Callable

import torch


def minimise(params: list[torch.Tensor], closure_value: Callable[[], torch.Tensor], *,
             max_iter: int = 2000, tolerance_grad: float = 1e-9, tolerance_change: float = 1e-13,
             history: int = 50) -> dict:
    """Minimise closure_value() over `params` (leaf tensors, requires_grad) with strong-Wolfe
    L-BFGS. Returns the final value, the number of evaluations and the gradient norm."""
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, max_eval=int(max_iter * 1.25),
                            tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                            history_size=history, line_search_fn="strong_wolfe")
    evals = 0

    def closure():
        nonlocal evals
        evals += 1
        opt.zero_grad(set_to_none=True)
        value = closure_value()
        value.backward()
        return value

    opt.step(closure)
    with torch.no_grad():
        value = closure_value()
    grad = torch.cat([p.grad.flatten() for p in params if p.grad is not None])
    return {"value": float(value), "evaluations": evals, "grad_norm": float(grad.abs().max())}
