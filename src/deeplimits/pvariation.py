"""Exact p-variation of a discrete path, and its finest-partition quadratic variation.

For a path X_0, ..., X_n (vectors or matrices, norm Frobenius / l2) and p >= 1,

    V_p(X)^p = max over 0 = t_0 < t_1 < ... < t_k = n of sum_i ||X_{t_i} - X_{t_(i-1)}||^p.

Algorithm: dynamic programming over the last partition point,
    V[0] = 0,  V[j] = max_{m < j} V[m] + ||X_j - X_m||^p,  V_p^p = V[n],
which is exact; the naive cost is O(n^2) distance evaluations. The search over m is
pruned with a tree of blocks (FANOUT^l consecutive points at level l): a finished block B keeps its middle point c_B, a bound r_B >= max_{m in B} ||X_m - c_B|| and
max_{m in B} V[m]; by the triangle inequality every candidate in B scores at most
max V[m] + (||X_j - c_B|| + r_B)^p, so blocks that cannot beat the best candidate found
so far are skipped whole. Pruning never changes the result (tested against brute
force over all partitions); it only saves time, most on regular paths.

A cheaper bound comes first where the path lies close to a few directions (a smooth
signal plus small noise, as trained weights are): with y = X - mean, z = U^T y its
coordinates on the top PROJ_DIMS principal directions U and q = ||y - U z|| the rest,
    ||X_i - X_j||^2 <= ||z_i - z_j||^2 + (q_i + q_j)^2,
which costs PROJ_DIMS multiply-adds instead of the full dimension. It is used only
when the rest carries under PROJ_SHARE of the path's variance (elsewhere it would
prune nothing). Rounding in z and q is absolute (about 1e-16 times the path's size), so
the bound on the distance is widened by 1e-12 of the largest ||y|| (and a relative
1e-9): it can never fall below the exact distance.
For p = 1 the finest partition is optimal (triangle inequality), which is used directly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FANOUT = 8  # children per block in the pruning tree
PROJ_DIMS = 4  # principal directions of the cheap bound
PROJ_SHARE = 0.05  # the cheap bound is used when the rest of the variance is below this share


def _as_path(path) -> np.ndarray:
    arr = np.asarray(path, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[0] < 1:
        raise ValueError("a path needs at least one point: shape (n+1, ...)")
    return np.ascontiguousarray(arr.reshape(arr.shape[0], -1))


def p_variation(path, p: float, norm: str = "fro") -> float:
    """The exact p-variation (to the power 1/p) of a path of shape (n+1, ...)."""
    if norm not in ("fro", "l2"):
        raise ValueError(f"norm must be 'fro' (or 'l2' for vectors), got {norm!r}")
    if p < 1:
        raise ValueError(f"p-variation needs p >= 1, got {p}")
    x = _as_path(path)
    if x.shape[0] == 1:
        return 0.0
    if p == 1:
        return float(np.linalg.norm(np.diff(x, axis=0), axis=1).sum())
    z, q, tol, use_proj = _projection(x)
    return float(_dp(x, z, q, tol, use_proj, float(p))[-1] ** (1.0 / p))


def _projection(x: np.ndarray):
    """Coordinates z on the top principal directions, the rest's norm q, the bound's
    rounding allowance, and whether the bound is worth using (the rest is a small share
    of the variance)."""
    mean = x.mean(0)
    # The bound holds for any orthonormal U, so the directions may come from a subsample
    # and a few subspace iterations (compiled: LAPACK and BLAS threads cost more here than
    # the whole search on a busy machine).
    sample = np.ascontiguousarray(x[:: max(1, x.shape[0] // 1024)] - mean)
    u = _top_directions(sample, min(PROJ_DIMS, x.shape[1]))
    z, q, rest, total, size = _project(x, mean, u)
    # The bound needs orthonormal columns; if rounding ever broke that, do without it.
    orthonormal = np.abs(u.T @ u - np.eye(u.shape[1])).max() < 1e-9
    return z, q, 1e-12 * size, bool(orthonormal and total > 0 and rest < PROJ_SHARE * total)


@njit(cache=True, fastmath=True)
def _top_directions(sample, k, iterations=30):
    """(d, k): orthonormal columns spanning (about) the top principal directions of the rows.
    Plain loops, no BLAS: its threads cost more than this whole function on a busy machine."""
    rows, d = sample.shape
    gram = np.zeros((d, d))
    for r in range(rows):
        for a in range(d):
            ya = sample[r, a]
            for b in range(d):
                gram[a, b] += ya * sample[r, b]
    # Rows of u are the directions. Start from the k longest rows of the sample, which lie
    # mostly in the dominant directions.
    order = np.argsort(-(sample * sample).sum(1))
    u = np.empty((k, d))
    for a in range(k):
        u[a] = sample[order[a % rows]]
        u[a, a] += 1e-3
    w = np.empty((k, d))
    for _ in range(iterations):
        for a in range(k):  # w = u gram (gram is symmetric)
            for c in range(d):
                w[a, c] = 0.0
            for b in range(d):
                ub = u[a, b]
                for c in range(d):
                    w[a, c] += ub * gram[b, c]
        for a in range(k):  # modified Gram-Schmidt
            for b in range(a):
                w[a] -= (w[a] * u[b]).sum() * u[b]
            norm = np.sqrt((w[a] * w[a]).sum())
            if norm > 0:
                u[a] = w[a] / norm
            else:
                u[a] = 0.0
                u[a, a] = 1.0
    return np.ascontiguousarray(u.T)


@njit(cache=True)
def _project(x, mean, u):
    """z = U^T y and q = ||y - U z|| per point (the rest taken directly, not as a difference
    of squares, which would cancel), the rest's and the whole variance, and max ||y||."""
    n, d = x.shape
    k = u.shape[1]
    z = np.zeros((n, k))
    q = np.empty(n)
    y = np.empty(d)
    rest = total = size = 0.0
    for i in range(n):
        norm = 0.0
        for c in range(d):
            y[c] = x[i, c] - mean[c]
            norm += y[c] * y[c]
        for a in range(k):
            s = 0.0
            for c in range(d):
                s += u[c, a] * y[c]
            z[i, a] = s
        left = 0.0
        for c in range(d):
            r = y[c]
            for a in range(k):
                r -= u[c, a] * z[i, a]
            left += r * r
        q[i] = np.sqrt(left)
        rest += left
        total += norm
        size = max(size, np.sqrt(norm))
    return z, q, rest, total, size


def quadratic_variation(path) -> float:
    """Finest-partition quadratic variation: sum of squared consecutive increments."""
    x = _as_path(path)
    return float((np.diff(x, axis=0) ** 2).sum())


# fastmath lets the compiler vectorise the sum (reassociation); the result differs from
# a left-to-right sum only in the last bits, which no partition choice depends on.
@njit(cache=True, fastmath=True)
def _dist(x, i, j):
    s = 0.0
    for k in range(x.shape[1]):
        d = x[i, k] - x[j, k]
        s += d * d
    return np.sqrt(s)


@njit(cache=True, fastmath=True)
def _bound(z, q, tol, i, j):
    """An upper bound on ||X_i - X_j|| (module docstring), widened against rounding."""
    s = 0.0
    for k in range(z.shape[1]):
        d = z[i, k] - z[j, k]
        s += d * d
    r = q[i] + q[j]
    return np.sqrt(s + r * r) * (1.0 + 1e-9) + tol


@njit(cache=True)
def _pow(d, p):
    """d^p, without pow() for the usual p = 2 and 3 (it costs as much as a distance)."""
    if p == 2.0:
        return d * d
    if p == 3.0:
        return d * d * d
    return d**p


@njit(cache=True)
def _close_blocks(x, v, rad, vmax, sizes, j):
    """Set the radius bound and largest V of every block that point j completes,
    bottom level first (a level's blocks are built from the level below)."""
    for lev in range(sizes.shape[0]):
        size = sizes[lev]
        if (j + 1) % size != 0:
            break
        b = (j + 1) // size - 1
        first = b * size
        centre = first + size // 2
        r = 0.0
        mx = -1.0
        if lev == 0:
            for m in range(first, first + FANOUT):
                d = _dist(x, m, centre)
                if d > r:
                    r = d
                if v[m] > mx:
                    mx = v[m]
        else:
            for child in range(b * FANOUT, b * FANOUT + FANOUT):
                child_centre = child * sizes[lev - 1] + sizes[lev - 1] // 2
                d = _dist(x, child_centre, centre) + rad[lev - 1, child]
                if d > r:
                    r = d
                if vmax[lev - 1, child] > mx:
                    mx = vmax[lev - 1, child]
        rad[lev, b] = r
        vmax[lev, b] = mx


@njit(cache=True)
def _dp(x, z, q, tol, use_proj, p):
    n = x.shape[0]
    v = np.zeros(n)
    arg = np.zeros(n, dtype=np.int64)
    # Level l blocks hold FANOUT^(l+1) consecutive points; block b of level l starts at
    # b * size. Each keeps an upper bound of its radius around its middle point and the
    # largest V in it; both are set when the block's last point gets its V.
    n_levels = 1
    while FANOUT ** n_levels < n:
        n_levels += 1
    sizes = np.empty(n_levels, dtype=np.int64)
    for lev in range(n_levels):
        sizes[lev] = FANOUT ** (lev + 1)
    rad = np.zeros((n_levels, n // FANOUT + 1))
    vmax = np.zeros((n_levels, n // FANOUT + 1))
    stack_l = np.empty(n_levels * FANOUT * 2 + 8, dtype=np.int64)
    stack_b = np.empty(n_levels * FANOUT * 2 + 8, dtype=np.int64)
    for j in range(1, n):
        best = v[j - 1] + _pow(_dist(x, j - 1, j), p)
        best_m = j - 1
        # The previous point's optimal predecessor is usually near-optimal here too: a
        # good first candidate lets the block bounds prune far more.
        m = arg[j - 1]
        val = v[m] + _pow(_dist(x, m, j), p)
        if val > best:
            best = val
            best_m = m
        # Cover [0, j) by the largest finished blocks, then the loose points at the end.
        top = 0
        start = 0
        for lev in range(n_levels - 1, -1, -1):
            size = sizes[lev]
            while start + size <= j:
                stack_l[top] = lev
                stack_b[top] = start // size
                top += 1
                start += size
        for m in range(start, j - 1):
            val = v[m] + _pow(_dist(x, m, j), p)
            if val > best:
                best = val
                best_m = m
        # Most recent blocks first (popped from the top of the stack).
        while top > 0:
            top -= 1
            lev = stack_l[top]
            b = stack_b[top]
            first = b * sizes[lev]
            centre = first + sizes[lev] // 2
            if use_proj and vmax[lev, b] + _pow(_bound(z, q, tol, centre, j) + rad[lev, b], p) <= best:
                continue
            if vmax[lev, b] + _pow(_dist(x, centre, j) + rad[lev, b], p) <= best:
                continue
            if lev == 0:
                for m in range(first, first + FANOUT):
                    if use_proj and v[m] + _pow(_bound(z, q, tol, m, j), p) <= best:
                        continue
                    val = v[m] + _pow(_dist(x, m, j), p)
                    if val > best:
                        best = val
                        best_m = m
            else:
                for child in range(b * FANOUT, b * FANOUT + FANOUT):
                    stack_l[top] = lev - 1
                    stack_b[top] = child
                    top += 1
        v[j] = best
        arg[j] = best_m
        _close_blocks(x, v, rad, vmax, sizes, j)
    return v
