"""A fused objective-and-gradient of the TvG problem (numba, float64), for L-BFGS.

The plain PyTorch path (models/tvg.py) is the reference: on these tiny layers (width 2-10,
a few hundred points) PyTorch's per-op overhead is ~100x the arithmetic, so the whole
forward and backward sweep runs in one compiled loop here, tested against autograd.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ACT_CODES = {"tanh": 0, "relu": 1}


@njit(cache=True)
def _cross_entropy(h, W, c, y, gW, gc, gh):
    """Softmax cross-entropy of the logits W h + c, mean over points; adds its gradients in W,
    c and the final state h to gW, gc, gh."""
    p, d = h.shape
    n_cls = W.shape[0]
    logits = np.empty(n_cls)
    data = 0.0
    for i in range(p):
        mx = -1e300
        for j in range(n_cls):
            v = c[j]
            for q in range(d):
                v += W[j, q] * h[i, q]
            logits[j] = v
            mx = max(mx, v)
        tot = 0.0
        for j in range(n_cls):
            tot += np.exp(logits[j] - mx)
        lse = mx + np.log(tot)
        data += lse - logits[y[i]]
        for j in range(n_cls):
            gl = np.exp(logits[j] - lse) / p - (1.0 / p if j == y[i] else 0.0)
            gc[j] += gl
            for q in range(d):
                gW[j, q] += gl * h[i, q]
                gh[i, q] += gl * W[j, q]
    return data / p


@njit(cache=True)
def _obj_grad(K, b, W, c, x, y, a1, a2, a3, act):
    n, d, _ = K.shape
    p = x.shape[0]
    n_cls = W.shape[0]
    tau = 1.0 / n
    h = np.empty((n + 1, p, d))
    s = np.empty((n, p, d))  # activation derivatives
    h[0] = x
    for k in range(n):
        for i in range(p):
            for r in range(d):
                z = b[k, r]
                for q in range(d):
                    z += K[k, r, q] * h[k, i, q]
                if act == 0:
                    t = np.tanh(z)
                    s[k, i, r] = 1.0 - t * t
                else:
                    t = z if z > 0 else 0.0
                    s[k, i, r] = 1.0 if z > 0 else 0.0
                h[k + 1, i, r] = h[k, i, r] + tau * t
    gW = np.zeros_like(W)
    gc = np.zeros_like(c)
    gh = np.zeros((p, d))
    data = _cross_entropy(h[n], W, c, y, gW, gc, gh)
    gK = np.zeros_like(K)
    gb = np.zeros_like(b)
    gz = np.empty(d)
    for k in range(n - 1, -1, -1):
        for i in range(p):
            for r in range(d):
                gz[r] = gh[i, r] * tau * s[k, i, r]
            for r in range(d):
                gb[k, r] += gz[r]
                for q in range(d):
                    gK[k, r, q] += gz[r] * h[k, i, q]
            for q in range(d):
                acc = 0.0
                for r in range(d):
                    acc += gz[r] * K[k, r, q]
                gh[i, q] += acc
    # Penalties.
    h1 = 0.0
    for k in range(n - 1):
        for r in range(d):
            db = b[k + 1, r] - b[k, r]
            h1 += db * db
            gb[k + 1, r] += 2 * a1 * db / tau
            gb[k, r] -= 2 * a1 * db / tau
            for q in range(d):
                dk = K[k + 1, r, q] - K[k, r, q]
                h1 += dk * dk
                gK[k + 1, r, q] += 2 * a1 * dk / tau
                gK[k, r, q] -= 2 * a1 * dk / tau
    h1 *= a1 / tau
    l2 = 0.0
    for k in range(n):
        for r in range(d):
            l2 += b[k, r] * b[k, r]
            gb[k, r] += 2 * a2 * tau * b[k, r]
            for q in range(d):
                l2 += K[k, r, q] * K[k, r, q]
                gK[k, r, q] += 2 * a2 * tau * K[k, r, q]
    l2 *= a2 * tau
    head = 0.0
    for j in range(n_cls):
        head += c[j] * c[j]
        gc[j] += 2 * a3 * c[j]
        for q in range(d):
            head += W[j, q] * W[j, q]
            gW[j, q] += 2 * a3 * W[j, q]
    head *= a3
    return data, h1, l2, head, gK, gb, gW, gc


class FusedObjective:
    """E_N and its gradient on a flat parameter vector (for scipy's L-BFGS)."""

    def __init__(self, depth, dim, classes, x, y, a1, a2, a3, activation="tanh"):
        self.shapes = [(depth, dim, dim), (depth, dim), (classes, dim), (classes,)]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        self.a = (float(a1), float(a2), float(a3))
        self.act = ACT_CODES[activation]
        self.evaluations = 0

    def unflatten(self, theta):
        out, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            out.append(np.ascontiguousarray(theta[start:start + size].reshape(shape)))
            start += size
        return out

    @staticmethod
    def flatten(arrays) -> np.ndarray:
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])

    def parts(self, theta) -> dict:
        data, h1, l2, head, *_ = _obj_grad(*self.unflatten(theta), self.x, self.y, *self.a, self.act)
        return {"data": data, "h1": h1, "l2": l2, "head": head, "total": data + h1 + l2 + head}

    def __call__(self, theta):
        self.evaluations += 1
        data, h1, l2, head, gK, gb, gW, gc = _obj_grad(*self.unflatten(theta), self.x, self.y, *self.a, self.act)
        return data + h1 + l2 + head, self.flatten([gK, gb, gW, gc])


# ----------------------------------------------------------------------------- the continuum problem
# E_inf with piecewise-linear K(t), b(t) through closed nodes t_i = i/(M-1), the ODE
# x' = sigma(K(t) x + b(t)) integrated by `substeps` RK4 steps per node interval (so no step
# crosses a kink), and its gradient by the adjoint of those RK4 steps. The plain reference is
# analysis.thorpe_van_gennip.continuum_objective (torchdiffeq's rk4 with autograd).
@njit(cache=True)
def _act(z, act):
    if act == 0:
        t = np.tanh(z)
        return t, 1.0 - t * t
    return (z, 1.0) if z > 0 else (0.0, 0.0)


@njit(cache=True)
def _stage(A, cb, u, out, deriv, act):
    """out = sigma(A u + cb) row by row, deriv = sigma'(A u + cb)."""
    p, d = u.shape
    for i in range(p):
        for r in range(d):
            z = cb[r]
            for q in range(d):
                z += A[r, q] * u[i, q]
            out[i, r], deriv[i, r] = _act(z, act)


@njit(cache=True)
def _stage_back(A, gk, u, deriv, gA, gcb, gu):
    """Through k = sigma(A u + cb): accumulate gA, gcb; gu = A^T (gk * sigma')."""
    p, d = u.shape
    for i in range(p):
        for r in range(d):
            gz = gk[i, r] * deriv[i, r]
            gcb[r] += gz
            for q in range(d):
                gA[r, q] += gz * u[i, q]
        for q in range(d):
            acc = 0.0
            for r in range(d):
                acc += A[r, q] * gk[i, r] * deriv[i, r]
            gu[i, q] = acc


@njit(cache=True)
def _profile_penalties(K, b, a1, a2, gK, gb):
    """int |K'|^2 and int |K|^2 (with b) of the piecewise-linear profile on its nodes, exactly;
    their gradients, weighted by a1 and a2, are added to gK and gb."""
    m = K.shape[0]
    hn = 1.0 / (m - 1)
    h1 = 0.0
    l2 = 0.0
    for i in range(m - 1):
        dk = K[i + 1] - K[i]
        db = b[i + 1] - b[i]
        h1 += (np.sum(dk * dk) + np.sum(db * db)) / hn
        gK[i + 1] += 2 * a1 * dk / hn
        gK[i] -= 2 * a1 * dk / hn
        gb[i + 1] += 2 * a1 * db / hn
        gb[i] -= 2 * a1 * db / hn
        l2 += hn / 3 * (np.sum(K[i] * K[i]) + np.sum(K[i] * K[i + 1]) + np.sum(K[i + 1] * K[i + 1])
                        + np.sum(b[i] * b[i]) + np.sum(b[i] * b[i + 1]) + np.sum(b[i + 1] * b[i + 1]))
        gK[i] += a2 * hn / 3 * (2 * K[i] + K[i + 1])
        gK[i + 1] += a2 * hn / 3 * (K[i] + 2 * K[i + 1])
        gb[i] += a2 * hn / 3 * (2 * b[i] + b[i + 1])
        gb[i + 1] += a2 * hn / 3 * (b[i] + 2 * b[i + 1])
    return h1, l2


@njit(cache=True)
def _continuum_obj_grad(K, b, W, c, x, y, a1, a2, a3, act, substeps):
    m, d, _ = K.shape
    p = x.shape[0]
    hn = 1.0 / (m - 1)           # node spacing
    steps = (m - 1) * substeps
    h = hn / substeps
    # Per step s and stage time (0, h/2, h): the interpolated K and b.
    Ks = np.empty((steps, 3, d, d))
    bs = np.empty((steps, 3, d))
    for s in range(steps):
        i = s // substeps
        for j in range(3):
            w = ((s % substeps) + 0.5 * j) / substeps
            Ks[s, j] = (1 - w) * K[i] + w * K[i + 1]
            bs[s, j] = (1 - w) * b[i] + w * b[i + 1]
    X = np.empty((steps + 1, p, d))
    U = np.empty((steps, 4, p, d))       # stage inputs
    Kst = np.empty((steps, 4, p, d))     # stage values
    Dv = np.empty((steps, 4, p, d))      # stage derivatives
    X[0] = x
    which = (0, 1, 1, 2)                 # stage -> interpolation time
    for s in range(steps):
        U[s, 0] = X[s]
        _stage(Ks[s, 0], bs[s, 0], U[s, 0], Kst[s, 0], Dv[s, 0], act)
        U[s, 1] = X[s] + 0.5 * h * Kst[s, 0]
        _stage(Ks[s, 1], bs[s, 1], U[s, 1], Kst[s, 1], Dv[s, 1], act)
        U[s, 2] = X[s] + 0.5 * h * Kst[s, 1]
        _stage(Ks[s, 1], bs[s, 1], U[s, 2], Kst[s, 2], Dv[s, 2], act)
        U[s, 3] = X[s] + h * Kst[s, 2]
        _stage(Ks[s, 2], bs[s, 2], U[s, 3], Kst[s, 3], Dv[s, 3], act)
        X[s + 1] = X[s] + h / 6 * (Kst[s, 0] + 2 * Kst[s, 1] + 2 * Kst[s, 2] + Kst[s, 3])
    gW = np.zeros_like(W)
    gc = np.zeros_like(c)
    g = np.zeros((p, d))
    data = _cross_entropy(X[steps], W, c, y, gW, gc, g)
    # Adjoint of the RK4 steps.
    gKs = np.zeros((steps, 3, d, d))
    gbs = np.zeros((steps, 3, d))
    gu = np.empty((p, d))
    for s in range(steps - 1, -1, -1):
        gk = np.empty((4, p, d))
        gk[0] = h / 6 * g
        gk[1] = h / 3 * g
        gk[2] = h / 3 * g
        gk[3] = h / 6 * g
        gx = g.copy()
        for stage in range(3, -1, -1):
            j = which[stage]
            _stage_back(Ks[s, j], gk[stage], U[s, stage], Dv[s, stage], gKs[s, j], gbs[s, j], gu)
            gx += gu
            if stage == 3:
                gk[2] += h * gu
            elif stage >= 1:
                gk[stage - 1] += 0.5 * h * gu
        g = gx
    gK = np.zeros_like(K)
    gb = np.zeros_like(b)
    for s in range(steps):
        i = s // substeps
        for j in range(3):
            w = ((s % substeps) + 0.5 * j) / substeps
            gK[i] += (1 - w) * gKs[s, j]
            gK[i + 1] += w * gKs[s, j]
            gb[i] += (1 - w) * gbs[s, j]
            gb[i + 1] += w * gbs[s, j]
    h1, l2 = _profile_penalties(K, b, a1, a2, gK, gb)
    head = np.sum(W * W) + np.sum(c * c)
    gW += 2 * a3 * W
    gc += 2 * a3 * c
    return data, a1 * h1, a2 * l2, a3 * head, gK, gb, gW, gc, X[steps]


class FusedContinuum(FusedObjective):
    """E_inf on closed nodes and its gradient on a flat parameter vector (for scipy's L-BFGS)."""

    def __init__(self, nodes, dim, classes, x, y, a1, a2, a3, activation="tanh", substeps=2):
        super().__init__(nodes, dim, classes, x, y, a1, a2, a3, activation)
        self.substeps = int(substeps)

    def _run(self, theta):
        return _continuum_obj_grad(*self.unflatten(theta), self.x, self.y, *self.a, self.act, self.substeps)

    def parts(self, theta) -> dict:
        data, h1, l2, head, *_ = self._run(theta)
        return {"data": data, "h1": h1, "l2": l2, "head": head, "total": data + h1 + l2 + head}

    def final_state(self, theta) -> np.ndarray:
        return self._run(theta)[-1]

    def __call__(self, theta):
        self.evaluations += 1
        data, h1, l2, head, gK, gb, gW, gc, _ = self._run(theta)
        return data + h1 + l2 + head, self.flatten([gK, gb, gW, gc])
