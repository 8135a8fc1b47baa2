"""Deterministic full-batch L-BFGS (float64) for small problems such as TvG's objective."""

from __future__ import annotations

from collections.abc import Callable

import torch


def minimise(params: list[torch.Tensor], closure_value: Callable[[], torch.Tensor], *,
             max_iter: int = 2000, tolerance_grad: float = 1e-9, tolerance_change: float = 1e-13,
             history: int = 50) -> dict:
    """Minimise closure_value() over `params` (leaf tensors, requires_grad) with strong-Wolfe
    L-BFGS. Returns the final value, the evaluations and iterations, the final max-abs gradient
    and why it stopped (whether it converged is the caller's test of that gradient, R5)."""
    max_eval = int(max_iter * 1.25)
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, max_eval=max_eval,
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
    grad = float(torch.cat([p.grad.flatten() for p in params if p.grad is not None]).abs().max())
    iterations = int(opt.state[opt._params[0]].get("n_iter", 0))
    reason = ("max_iter reached" if iterations >= max_iter else "max_eval reached" if evals >= max_eval
              else "gradient below tolerance_grad" if grad <= tolerance_grad else "no progress (tolerance_change)")
    return {"value": float(value), "evaluations": evals, "iterations": iterations, "grad_norm": grad,
            "stop_reason": reason}
