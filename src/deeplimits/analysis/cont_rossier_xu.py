"""Claims CRX.1 and CRX.2 (Cont, Rossier & Xu): linear convergence of full-batch GD and
the L^-beta scaling of the trained weights. Norm of A(k): Frobenius."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..claims import verdict, write_claim
from ..io import write_csv
from .fit import log_linear_rate, loglog_slope, relative_spread


def crx1(settings: dict, cell_dirs: list, out_dir, *, scale: str) -> dict:
    out_dir = Path(out_dir)
    losses, rates, weights = [], [], []
    for cell_dir in map(Path, cell_dirs):
        blob = torch.load(cell_dir / "weights.pt", weights_only=True)
        depth = int(blob["cell"]["depth"])
        m = pd.read_csv(cell_dir / "metrics.csv")
        # Row at epoch e holds the loss evaluated before GD step e (step index e - 1).
        m = m.assign(depth=depth, gd_step=m.epoch - 1)
        losses.append(m[["depth", "seed", "gd_step", "train_loss", "diverged"]])
        for seed, grp in m.groupby("seed"):
            fit = log_linear_rate(grp.gd_step, grp.train_loss, settings["fit_from"])
            rates.append({"depth": depth, "seed": seed, "rate": fit.slope, "r2": fit.r2,
                          "final_loss": float(grp.train_loss.iloc[-1])})
        a = blob["state"]["A"].double()  # (S, L, d, d)
        fro = torch.linalg.matrix_norm(a, ord="fro")  # (S, L)
        for s in range(a.shape[0]):
            weights.append({"depth": depth, "seed": s, "max_norm_A": float(fro[s].max()),
                            "mean_norm_A": float(fro[s].mean())})
    losses = pd.concat(losses, ignore_index=True)
    rates = pd.DataFrame(rates)
    weights = pd.DataFrame(weights)
    write_csv(out_dir / "loss_curves.csv", losses)
    write_csv(out_dir / "rates.csv", rates)
    write_csv(out_dir / "weight_norms.csv", weights)

    mean_rates = rates.groupby("depth")["rate"].mean()
    spread = relative_spread(mean_rates.values)
    min_r2 = float(rates["r2"].min())
    tol = settings["rate_spread_tolerance"]
    ok1 = bool(spread < tol and (mean_rates < 0).all())
    desc = "; ".join(f"L={d}: {r:.4f}" for d, r in mean_rates.items())
    write_claim(
        out_dir / "claim_crx1.json", "CRX.1", scale=scale,
        measured=f"fitted rate d log(loss)/d step (steps >= {settings['fit_from']}): {desc}; "
                 f"relative spread {100 * spread:.1f}%; min r2 {min_r2:.3f}",
        target="log(loss) linear in the step; rate varies < 10% across depths",
        tolerance=f"spread < {100 * tol:.0f}%", verdict=verdict(ok1, scale),
        figure="crx1_loss.png", table="crx1/rates.csv",
        note=f"full-batch GD, lr {settings['lr']}, only A trained, {settings['steps']} steps",
        values={"rates": {str(k): v for k, v in mean_rates.items()}, "spread": spread},
    )
    mean_max = weights.groupby("depth")["max_norm_A"].mean()
    fit = loglog_slope(mean_max.index.values, mean_max.values)
    beta = -fit.slope
    ok2 = bool(abs(beta - settings["beta_target"]) <= settings["beta_tolerance"])
    write_claim(
        out_dir / "claim_crx2.json", "CRX.2", scale=scale,
        measured=f"beta = {beta:.3f} (r2 {fit.r2:.3f}) from max_k ||A(k)||_F over L = "
                 + ", ".join(str(d) for d in mean_max.index),
        target=f"beta = {settings['beta_target']}", tolerance=f"+-{settings['beta_tolerance']}",
        verdict=verdict(ok2, scale), figure="crx2_scaling.png", table="crx1/weight_norms.csv",
        note="Frobenius norm; weights after the CRX.1 training",
        values={"beta": beta, "r2": fit.r2},
    )
    return {"rates": rates, "beta": beta, "spread": spread}
