"""Xu & Zhang's objects for a plain ReLU network given as lists W(n), b(n) (one network):
the explicit product form and the exact count of linear pieces along a segment."""

from __future__ import annotations

import numpy as np
import torch


def forward_states(ws, bs, x: torch.Tensor) -> list[torch.Tensor]:
    """N(0) = x, N(n) = relu(W(n) N(n-1) + b(n)); x: (batch, m)."""
    states = [x]
    for w, b in zip(ws, bs):
        x = torch.relu(x @ w.T + b)
        states.append(x)
    return states


def explicit_output(ws, bs, x: torch.Tensor) -> torch.Tensor:
    """N(n)(x) = D(n)W(n)...D(1)W(1) x + sum_i D(n)W(n)...D(i+1)W(i+1) D(i) b(i),
    with the activation matrices D(i)(x) read from the forward pass, per input."""
    out = torch.empty(x.shape[0], ws[-1].shape[0], dtype=x.dtype)
    for r in range(x.shape[0]):
        h = x[r]
        m = torch.eye(x.shape[1], dtype=x.dtype)
        v = torch.zeros(x.shape[1], dtype=x.dtype)
        for w, b in zip(ws, bs):
            z = w @ h + b
            d = (z > 0).to(x.dtype)
            m = d[:, None] * (w @ m)      # D(n) W(n) ... D(1) W(1)
            v = d * (w @ v + b)           # sum_i D(n) W(n) ... D(i) b(i)
            h = torch.relu(z)
        out[r] = m @ x[r] + v
    return out


def pieces_along_segment(ws, bs, x0, x1, tol: float = 1e-12) -> list[int]:
    """Number of linear pieces of t -> N(n)(x0 + t (x1 - x0)), t in [0, 1], for n = 0..D.

    Exact: on each piece the pre-activations are affine in t, so each unit's sign
    change is the root of an affine function; the pieces are split there. The count at
    depth n is the number of activation domains of the first n layers met by the segment
    (consecutive pieces with the same activation pattern are merged).
    """
    x0 = np.asarray(x0, dtype=np.float64)
    x1 = np.asarray(x1, dtype=np.float64)
    # Each piece: (t_start, t_end, a, c, pattern) with value a + t c on [t_start, t_end].
    pieces = [(0.0, 1.0, x0, x1 - x0, ())]
    counts = [1]
    for w, b in zip(ws, bs):
        w = np.asarray(w, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        new = []
        for t0, t1, a, c, pattern in pieces:
            za, zc = w @ a + b, w @ c
            cuts = [t0, t1]
            with np.errstate(divide="ignore", invalid="ignore"):
                roots = -za / zc
            inside = roots[(np.abs(zc) > tol) & (roots > t0 + tol) & (roots < t1 - tol)]
            cuts = np.unique(np.concatenate([[t0, t1], inside]))
            for s0, s1 in zip(cuts[:-1], cuts[1:]):
                mid = 0.5 * (s0 + s1)
                active = (za + mid * zc) > 0
                new.append((s0, s1, np.where(active, za, 0.0), np.where(active, zc, 0.0),
                            pattern + (active.tobytes(),)))
        merged = [new[0]]
        for piece in new[1:]:
            if piece[4] == merged[-1][4]:
                prev = merged[-1]
                merged[-1] = (prev[0], piece[1], prev[2], prev[3], prev[4])
            else:
                merged.append(piece)
        pieces = merged
        counts.append(len(pieces))
    return counts
