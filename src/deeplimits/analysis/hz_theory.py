"""The mathematics of Huang & Zhang on a concrete network: effective weights as
matrices, the explicit activation-matrix form, the per-block bound, partial sums.

All functions take one network's blocks as lists (per block) of effective weight
matrices W(n,m) (shape out x in) and bias vectors b(n,m); conv layers are turned
into matrices on a given image size by `conv_matrix`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def conv_matrix(w: torch.Tensor, size: int) -> torch.Tensor:
    """The matrix of a 'same'-padded conv (w: out x in x k x k) on in x size x size images,
    acting on flattened (C, H, W) vectors."""
    c_in = w.shape[1]
    n = c_in * size * size
    basis = torch.eye(n, dtype=w.dtype, device=w.device).view(n, c_in, size, size)
    cols = F.conv2d(basis, w, padding=w.shape[-1] // 2)  # (n, out, size, size)
    return cols.flatten(1).T.contiguous()


def conv_bias_vector(b: torch.Tensor, size: int) -> torch.Tensor:
    return b.repeat_interleave(size * size)


def dense_block(y: torch.Tensor, ws, bs) -> torch.Tensor:
    """y(n) = relu(y(n-1) + W_k relu(... relu(W_1 y(n-1) + b_1) ...) + b_k), inputs y (N x d)."""
    h = y
    for m, (w, b) in enumerate(zip(ws, bs)):
        h = h @ w.T + b
        if m < len(ws) - 1:
            h = torch.relu(h)
    return torch.relu(y + h)


def forward_states(blocks, y0: torch.Tensor) -> list[torch.Tensor]:
    """y(0..D) for inputs y0 (N x d) through blocks [(Ws, bs), ...] in matrix form."""
    states = [y0]
    for ws, bs in blocks:
        states.append(dense_block(states[-1], ws, bs))
    return states


def explicit_output(blocks, y0: torch.Tensor) -> torch.Tensor:
    """y(D) from the explicit form y(n) = D(n)[(I + A(n)) y(n-1) + c~(n)], unrolled to an
    affine map of y(0) per input: y(D) = M_x y(0) + v_x.

    The activation patterns D are read from the forward pass; everything else is the
    product of matrices, so agreement with the forward pass checks the identity.
    """
    n_inputs, d = y0.shape
    eye = torch.eye(d, dtype=y0.dtype, device=y0.device)
    out = torch.empty_like(y0)
    for i in range(n_inputs):
        y = y0[i]
        m_total = eye.clone()
        v_total = torch.zeros(d, dtype=y0.dtype, device=y0.device)
        for ws, bs in blocks:
            # Activation matrices of this block for this input (from the forward pass).
            h = y
            acts = []
            for m, (w, b) in enumerate(zip(ws, bs)):
                z = w @ h + b
                if m < len(ws) - 1:
                    acts.append((z > 0).to(y0.dtype))
                    h = torch.relu(z)
                else:
                    h = z
            pre = y + h
            d_out = (pre > 0).to(y0.dtype)
            # A(n) = W_k D_{k-1} W_{k-1} ... D_1 W_1 and c~(n) built by the same products.
            a = ws[0]
            c = bs[0]
            for m in range(1, len(ws)):
                a = ws[m] @ (acts[m - 1][:, None] * a)
                c = ws[m] @ (acts[m - 1] * c) + bs[m]
            block_m = d_out[:, None] * (eye + a)
            block_v = d_out * c
            m_total = block_m @ m_total
            v_total = block_m @ v_total + block_v
            y = torch.relu(pre)
        out[i] = m_total @ y0[i] + v_total
    return out


def spectral_norm(w: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(w.double(), ord=2))


def block_bound_terms(ws, bs, norm=spectral_norm) -> tuple[float, float]:
    """a(n) = prod_m ||W(n,m)||, c(n) = sum_m (prod_{j>m} ||W(n,j)||) ||b(n,m)||."""
    norms = [norm(w) for w in ws]
    a = float(np.prod(norms))
    c = 0.0
    for m, b in enumerate(bs):
        c += float(np.prod(norms[m + 1:])) * float(torch.linalg.vector_norm(b.double()))
    return a, c


def bound_check(blocks, states, norm=spectral_norm) -> dict:
    """Check ||y(n) - y(n-1)|| <= a(n) ||y(n-1)|| + c(n) (l2 norms, per input) on every block.

    The bound needs y(n-1) >= 0 (then |relu(y + z) - y| <= |z|); callers pass
    non-negative inputs (post-relu stems, or U[0,1] images).
    """
    rows = []
    for n, (ws, bs) in enumerate(blocks, start=1):
        a, c = block_bound_terms(ws, bs, norm)
        prev, cur = states[n - 1], states[n]
        lhs = torch.linalg.vector_norm(cur - prev, dim=1)
        rhs = a * torch.linalg.vector_norm(prev, dim=1) + c
        slack = rhs - lhs
        rows.append({
            "block": n, "a": a, "c": c,
            "max_increment": float(lhs.max()),
            "min_slack": float(slack.min()),
            "min_relative_slack": float((slack / rhs.clamp_min(1e-300)).min()),
            "violations": int((slack < -1e-9 * rhs.clamp_min(1.0)).sum()),
        })
    return {"rows": rows, "violations": sum(r["violations"] for r in rows)}


def partial_sums(V: list[torch.Tensor], c: list[torch.Tensor], alpha: float, normaliser: float) -> dict:
    """Huang & Zhang's partial sums in the authors' normalisation.

    V[m]: raw kernels of layer m for all blocks, shape (D, out, in, ...); c[m]: raw biases (D, out).
    A(N) = sum_{n<=N} prod_m s(n,m) / n^(1+alpha),
    B(N) = sum_{n<=N} sum_m P(n,m) ||c(n,m)||_1 / n^((1+alpha) + (k-m)(1+alpha)/k),
    with s(n,m) the entrywise l1 norm of V(n,m), P(n,m) = prod_{j>m} s(n,j), and every term
    divided by `normaliser` (3*3*128^3 for the authors' CIFAR network).
    For k = 2, alpha = 0.2 the exponents are 1.2 (A), 1.8 (m=1) and 1.2 (m=2), as in the paper.
    """
    k = len(V)
    depth = V[0].shape[0]
    n = torch.arange(1, depth + 1, dtype=torch.float64)
    s = torch.stack([v.double().abs().flatten(1).sum(1) for v in V])  # (k, D)
    cl1 = torch.stack([b.double().abs().sum(1) for b in c])          # (k, D)
    a_terms = s.prod(0) / n ** (1 + alpha) / normaliser
    b_terms = torch.zeros(depth, dtype=torch.float64)
    for m in range(k):  # m is 0-based here: layer m+1 of the paper
        p = s[m + 1:].prod(0) if m + 1 < k else torch.ones(depth, dtype=torch.float64)
        expo = (1 + alpha) + (k - (m + 1)) * (1 + alpha) / k
        b_terms += p * cl1[m] / n**expo / normaliser
    return {"n": n.numpy(), "A": a_terms.cumsum(0).numpy(), "B": b_terms.cumsum(0).numpy()}
