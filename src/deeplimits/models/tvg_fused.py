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
    # Softmax cross-entropy, mean over points.
    g_logit = np.empty((p, n_cls))
    data = 0.0
    for i in range(p):
        mx = -1e300
        logits = np.empty(n_cls)
        for j in range(n_cls):
            v = c[j]
            for q in range(d):
                v += W[j, q] * h[n, i, q]
            logits[j] = v
            if v > mx:
                mx = v
        tot = 0.0
        for j in range(n_cls):
            tot += np.exp(logits[j] - mx)
        lse = mx + np.log(tot)
        data += lse - logits[y[i]]
        for j in range(n_cls):
            g_logit[i, j] = np.exp(logits[j] - lse) / p
        g_logit[i, y[i]] -= 1.0 / p
    data /= p
    gW = np.zeros_like(W)
    gc = np.zeros_like(c)
    gh = np.zeros((p, d))
    for i in range(p):
        for j in range(n_cls):
            gc[j] += g_logit[i, j]
            for q in range(d):
                gW[j, q] += g_logit[i, j] * h[n, i, q]
                gh[i, q] += g_logit[i, j] * W[j, q]
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
