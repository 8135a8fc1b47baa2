"""Huang & Zhang's scaled ResNet.

Block n (n = 1..D) with a branch of k layers:
    h(n,0) = y(n-1);  h(n,m) = relu(W(n,m) h(n,m-1) + b(n,m)), m < k
    y(n)   = relu(y(n-1) + W(n,k) h(n,k-1) + b(n,k))
with W(n,m) = n^(-(1+alpha)/k) V(n,m) and b(n,m) = n^(-(1+alpha)) c(n,m). After every
optimiser step V is clipped to l2 norm <= 1 per output unit (Keras max_norm(1) over
the kernel's input axes) and c to |c_i| <= 1; the dense head's kernel is kept at
l2 norm in [64, 1024] per output unit (Keras MinMaxNorm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .init import glorot_uniform, stacked

HEAD_NORM = (64.0, 1024.0)
STEM_STD = 0.02946


def layer(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, conv: bool) -> torch.Tensor:
    """One affine map for S stacked seeds.

    conv:  h (B, S*C_in, H, W), w (S, C_out, C_in, kh, kw), b (S, C_out) -> (B, S*C_out, H, W)
    dense: h (S, B, d_in),      w (S, d_out, d_in),          b (S, d_out) -> (S, B, d_out)
    """
    if conv:
        s = w.shape[0]
        return F.conv2d(h, w.flatten(0, 1), b.flatten(), padding=w.shape[-1] // 2, groups=s)
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def hz_block(y: torch.Tensor, weights, biases, conv: bool) -> torch.Tensor:
    """y(n) from y(n-1) given the block's effective weights and biases (layer order)."""
    h = y
    last = len(weights) - 1
    for m, (w, b) in enumerate(zip(weights, biases)):
        h = layer(h, w, b, conv)
        if m < last:
            h = torch.relu(h)
    return torch.relu(y + h)


def max_norm_(v: torch.Tensor, max_value: float, dims) -> None:
    """Scale slices of v whose l2 norm over `dims` exceeds max_value back to it."""
    norms = torch.linalg.vector_norm(v, dim=dims, keepdim=True)
    v.mul_(torch.clamp(max_value / norms.clamp_min(1e-12), max=1.0))


class HZResNet(nn.Module):
    """S stacked Huang-Zhang ResNets: stem -> D scaled blocks -> GAP -> dense head.

    block='conv' works on images (S, B, C, H, W) with 3x3 convolutions; block='dense'
    flattens the input and uses dense layers. `branch_width` makes the branch
    non-square (width -> branch_width -> ... -> width).
    """

    def __init__(self, generators, in_shape, n_classes, depth, width, branch_layers=2,
                 alpha=0.2, block="conv", branch_width=None, kernel=3):
        super().__init__()
        if block not in ("conv", "dense"):
            raise ValueError(f"block must be 'conv' or 'dense', got {block!r}")
        self.conv = block == "conv"
        self.seeds = len(generators)
        self.depth, self.width, self.k, self.alpha = depth, width, branch_layers, alpha
        self.n_classes = n_classes
        bw = branch_width or width
        dims = [width] + [bw] * (branch_layers - 1) + [width]
        ks = (kernel, kernel) if self.conv else ()
        area = kernel * kernel if self.conv else 1
        c_in = in_shape[0] if self.conv else int(torch.tensor(in_shape).prod())

        if self.conv:
            self.stem_w = nn.Parameter(stacked(
                lambda g: torch.randn(width, c_in, *ks, generator=g) * STEM_STD, generators))
        else:
            self.stem_w = nn.Parameter(stacked(
                lambda g: glorot_uniform((width, c_in), c_in, width, g), generators))
        self.stem_b = nn.Parameter(torch.zeros(self.seeds, width))
        self.V = nn.ParameterList()
        self.c = nn.ParameterList()
        for m in range(branch_layers):
            d_in, d_out = dims[m], dims[m + 1]
            self.V.append(nn.Parameter(stacked(
                lambda g, d_in=d_in, d_out=d_out: glorot_uniform(
                    (depth, d_out, d_in, *ks), d_in * area, d_out * area, g), generators)))
            self.c.append(nn.Parameter(torch.zeros(self.seeds, depth, d_out)))
        self.head_w = nn.Parameter(stacked(
            lambda g: glorot_uniform((n_classes, width), width, n_classes, g), generators))
        self.head_b = nn.Parameter(torch.zeros(self.seeds, n_classes))
        n = torch.arange(1, depth + 1, dtype=torch.float64)
        self.register_buffer("w_scale", (n ** (-(1 + alpha) / branch_layers)).float())
        self.register_buffer("b_scale", (n ** (-(1 + alpha))).float())
        self.project_()

    # -- parameters as the theory sees them ------------------------------------------
    def effective(self, n: int):
        """Effective (W(n,m), b(n,m)) for block n (1-based), stacked over seeds."""
        i = n - 1
        ws = [v[:, i] * self.w_scale[i].to(v.dtype) for v in self.V]
        bs = [c[:, i] * self.b_scale[i].to(c.dtype) for c in self.c]
        return ws, bs

    @torch.no_grad()
    def project_(self) -> None:
        for v in self.V:
            max_norm_(v, 1.0, dims=tuple(range(3, v.dim())))
        for c in self.c:
            c.clamp_(-1.0, 1.0)
        norms = self.head_w.norm(dim=2, keepdim=True).clamp_min(1e-12)
        self.head_w.mul_(norms.clamp(*HEAD_NORM) / norms)

    # -- forward ------------------------------------------------------------------------
    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """(S, B, ...) inputs -> y(0) in the layout the blocks use."""
        s, b = x.shape[:2]
        if self.conv:
            h = x.transpose(0, 1).flatten(1, 2)  # (B, S*C, H, W)
        else:
            h = x.flatten(2)
        return torch.relu(layer(h, self.stem_w, self.stem_b, self.conv))

    def head(self, y: torch.Tensor) -> torch.Tensor:
        if self.conv:
            b = y.shape[0]
            pooled = y.mean(dim=(2, 3)).view(b, self.seeds, self.width).transpose(0, 1)
        else:
            pooled = y
        return layer(pooled, self.head_w, self.head_b, conv=False)

    def all_effective(self):
        """Effective weights and biases of every block at once: one scaling op per layer
        instead of one per block (the per-op overhead dominates deep, narrow nets)."""
        ws = [v * self.w_scale.to(v.dtype).view(1, -1, *[1] * (v.dim() - 2)) for v in self.V]
        bs = [c * self.b_scale.to(c.dtype).view(1, -1, 1) for c in self.c]
        return ws, bs

    def blocks(self, y: torch.Tensor, upto: int | None = None, keep: bool = False):
        states = [y] if keep else None
        # unbind once: indexing in the loop would make every block's backward write a
        # gradient the size of all blocks (quadratic in depth).
        all_ws, all_bs = self.all_effective()
        ws_by_block = list(zip(*[w.unbind(1) for w in all_ws]))
        bs_by_block = list(zip(*[b.unbind(1) for b in all_bs]))
        for n in range(1, (upto or self.depth) + 1):
            y = hz_block(y, list(ws_by_block[n - 1]), list(bs_by_block[n - 1]), self.conv)
            if keep:
                states.append(y)
        return (y, states) if keep else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def truncated_logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Head applied to every depth-n prefix, n = 0..D (HZ.3's truncated networks). The
        head is applied as each state is made, so only one state is kept at a time (a state
        of a CIFAR-10 batch at width 128 is B x 1 MiB in float64)."""
        all_ws, all_bs = self.all_effective()
        ws_by_block = list(zip(*[w.unbind(1) for w in all_ws]))
        bs_by_block = list(zip(*[b.unbind(1) for b in all_bs]))
        y = self.stem(x)
        logits = [self.head(y)]
        for n in range(self.depth):
            y = hz_block(y, list(ws_by_block[n]), list(bs_by_block[n]), self.conv)
            logits.append(self.head(y))
        return logits
