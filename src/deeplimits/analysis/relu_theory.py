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


def _next_layer(t0, t1, a, c, w, b, tol: float):
    """Pass the pieces of a segment through one layer, all at once. Piece i spans
    [t0[i], t1[i]] and the state on it is a[i] + t c[i] (arrays (P,) and (P, m)). A piece
    splits where a unit's pre-activation, affine in t, changes sign; consecutive pieces with
    the same activation pattern are merged. Two consecutive pieces of different parents never
    share their whole pattern (the parents were merged otherwise), so comparing (parent, this
    layer's activations) is comparing the whole history, at a cost that does not grow with
    depth."""
    za, zc = a @ w.T + b, c @ w.T
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -za / zc
    inside = (np.abs(zc) > tol) & (roots > t0[:, None] + tol) & (roots < t1[:, None] - tol)
    piece, _ = np.nonzero(inside)
    # Every cut point, tagged with its piece: the ends of each piece and the roots inside it.
    owner = np.concatenate([np.arange(len(t0)), piece, np.arange(len(t0))])
    point = np.concatenate([t0, roots[inside], t1])
    order = np.lexsort((point, owner))
    owner, point = owner[order], point[order]
    keep = (owner[1:] == owner[:-1]) & (point[1:] > point[:-1])
    parent, s0, s1 = owner[:-1][keep], point[:-1][keep], point[1:][keep]
    active = (za[parent] + 0.5 * (s0 + s1)[:, None] * zc[parent]) > 0
    same = (parent[1:] == parent[:-1]) & (active[1:] == active[:-1]).all(axis=1)
    first = np.concatenate([[True], ~same])
    last = np.concatenate([~same, [True]])
    new_a, new_c = np.where(active, za[parent], 0.0), np.where(active, zc[parent], 0.0)
    return s0[first], s1[last], new_a[first], new_c[first]


def _segment(x0, x1):
    x0 = np.asarray(x0, dtype=np.float64)
    return np.array([0.0]), np.array([1.0]), x0[None, :], (np.asarray(x1, dtype=np.float64) - x0)[None, :]


def pieces_along_segment(ws, bs, x0, x1, tol: float = 1e-12) -> list[int]:
    """Number of linear pieces of t -> N(n)(x0 + t (x1 - x0)), t in [0, 1], for n = 0..D.

    Exact: on each piece the pre-activations are affine in t, so each unit's sign
    change is the root of an affine function; the pieces are split there. The count at
    depth n is the number of activation domains of the first n layers met by the segment
    (consecutive pieces with the same activation pattern are merged).
    """
    pieces = _segment(x0, x1)
    counts = [1]
    for w, b in zip(ws, bs):
        pieces = _next_layer(*pieces, np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64), tol)
        counts.append(len(pieces[0]))
    return counts


def kinks_along_segment(ws, bs, x0, x1, eps, tol: float = 1e-12) -> np.ndarray:
    """pieces(n; eps), n = 0..D, for each kink threshold eps: 1 + the number of breakpoints of
    t -> N(n)(x0 + t (x1 - x0)) where the slope (in t) changes by more than eps times the
    output's scale along the segment, max_t ||N(n)(x(t))|| (t in [0, 1], so a slope and a value
    share units). eps = 0 counts every breakpoint where the slope changes at all. Every eps is
    counted from one computation of the breakpoints and their slope changes. (len(eps), D + 1)."""
    eps = np.asarray(eps, dtype=np.float64)
    pieces = _segment(x0, x1)
    counts = np.ones((eps.size, len(ws) + 1), dtype=np.int64)
    for n, (w, b) in enumerate(zip(ws, bs), start=1):
        pieces = _next_layer(*pieces, np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64), tol)
        t0, t1, a, c = pieces
        scale = float(max(np.linalg.norm(a + t0[:, None] * c, axis=1).max(),
                          np.linalg.norm(a + t1[:, None] * c, axis=1).max()))
        jumps = np.linalg.norm(np.diff(c, axis=0), axis=1) / scale if scale > 0 else np.zeros(len(t0) - 1)
        counts[:, n] = 1 + (jumps[None, :] > eps[:, None]).sum(axis=1)
    return counts
