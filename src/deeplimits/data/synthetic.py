"""Offline datasets: scikit-learn's digits and the synthetic sets the claims use (docs/claim-cards.md).

Each builder returns (x_train, y_train, x_test, y_test, meta) and is deterministic
in (seed, settings).
"""

from __future__ import annotations

import numpy as np
import torch

from ..seeding import numpy_rng, torch_generator


def digits(seed: int, test_fraction: float = 0.2):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) in [0, 1]
    y = torch.tensor(bunch.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch_generator(seed, "digits-split"))
    n_test = int(round(test_fraction * len(y)))
    test, train = perm[:n_test], perm[n_test:]
    meta = {
        "name": "digits",
        "source": "sklearn.datasets.load_digits",
        "task": "classification",
        "classes": [str(i) for i in range(10)],
        "settings": {"test_fraction": test_fraction},
    }
    return x[train], y[train], x[test], y[test], meta


def near_orthogonal(seed: int, dim: int = 16, n: int = 8, max_overlap: float = 0.0):
    """n unit inputs in R^dim with <x_i, x_j> = max_overlap for i != j, and unit random targets.

    The inputs are chol(G) Q with Q orthonormal rows (QR of a Gaussian) and Gram matrix
    G = (1 - rho) I + rho 1 1^T, rho = max_overlap: exactly unit norm, every pairwise
    overlap exactly rho (0 gives orthonormal inputs). The achieved overlap is recorded.
    """
    if n > dim:
        raise ValueError(f"near_orthogonal needs n <= dim, got n={n}, dim={dim}")
    gen = torch_generator(seed, "near_orthogonal")
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    gram = (1 - max_overlap) * torch.eye(n, dtype=torch.float64) + max_overlap
    x = torch.linalg.cholesky(gram) @ q[:n]
    y = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    y = y / y.norm(dim=1, keepdim=True)
    gram = x @ x.T
    overlap = (gram - torch.diag(torch.diag(gram))).abs().max().item() if n > 1 else 0.0
    meta = {
        "name": "near_orthogonal",
        "source": "generated",
        "task": "regression",
        "settings": {"dim": dim, "n": n, "max_overlap": max_overlap},
        "achieved_max_overlap": overlap,
    }
    # Full-batch problems: the training set is also the test set.
    return x, y, x.clone(), y.clone(), meta


def crowded(seed: int, dim: int = 16, n: int = 32):
    """n > dim unit inputs in random directions with unit random targets: CRX.1's control,
    where the data condition (n <= dim, nearly orthogonal inputs) fails, so that no linear map,
    and no network near its linearisation, interpolates the targets."""
    if n <= dim:
        raise ValueError(f"crowded needs n > dim (the data condition must fail), got n={n}, dim={dim}")
    gen = torch_generator(seed, "crowded")
    x = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    y = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    y = y / y.norm(dim=1, keepdim=True)
    meta = {"name": "crowded", "source": "generated", "task": "regression", "settings": {"dim": dim, "n": n}}
    return x, y, x.clone(), y.clone(), meta


def ode(seed: int, dim: int = 10, n_train: int = 1024, n_test: int = 256, horizon: int = 100):
    """The companion paper's synthetic data: x ~ U[-1,1]^d, y = z(horizon) of a tanh ResNet-ODE."""
    rng = numpy_rng(seed, "ode")
    x = rng.uniform(-1.0, 1.0, size=(n_train + n_test, dim))
    z = x.copy()
    for t in range(horizon):
        z = z + horizon ** -0.5 * np.tanh(
            np.sin(5 * np.pi * t / horizon) * z + np.cos(5 * np.pi * t / horizon)
        )
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = z / np.linalg.norm(z, axis=1, keepdims=True)
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    meta = {
        "name": "ode",
        "source": "generated (Cohen, Cont, Rossier & Xu 2021, synthetic ODE data)",
        "task": "regression",
        "settings": {"dim": dim, "n_train": n_train, "n_test": n_test, "horizon": horizon},
    }
    return xt[:n_train], yt[:n_train], xt[n_train:], yt[n_train:], meta


def two_moons(seed: int, n: int = 200, noise: float = 0.1):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed % (2**31))
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.int64)
    meta = {
        "name": "two_moons",
        "source": "sklearn.datasets.make_moons",
        "task": "classification",
        "classes": ["0", "1"],
        "settings": {"n": n, "noise": noise},
    }
    # TvG minimises the training objective; the same points serve as the test set.
    return xt, yt, xt.clone(), yt.clone(), meta


def random_images(seed: int, n: int = 1000, channels: int = 128, size: int = 32):
    gen = torch_generator(seed, "random_images")
    x = torch.rand(n, channels, size, size, generator=gen)
    empty = torch.zeros(0, dtype=torch.int64)
    meta = {
        "name": "random_images",
        "source": "generated, entries U[0,1]",
        "task": "none",
        "settings": {"n": n, "channels": channels, "size": size},
    }
    return x, torch.zeros(n, dtype=torch.int64), x[:0], empty, meta


BUILDERS = {
    "digits": digits,
    "near_orthogonal": near_orthogonal,
    "crowded": crowded,
    "ode": ode,
    "two_moons": two_moons,
    "random_images": random_images,
}


def random_conv_features(images: torch.Tensor, seed: int) -> torch.Tensor:
    """The companion paper's MNIST features: two random untrained convolutions (5x5 stride 2,
    then 3x3 stride 2, one channel, no nonlinearity) -> 25 features for 28x28 images,
    normalised to unit norm."""
    import torch.nn.functional as F

    gen = torch_generator(seed, "mnist-features")
    w1 = torch.randn(1, images.shape[1], 5, 5, generator=gen) / 5.0
    w2 = torch.randn(1, 1, 3, 3, generator=gen) / 3.0
    with torch.no_grad():
        h = F.conv2d(F.conv2d(images, w1, stride=2), w2, stride=2).flatten(1)
    return h / h.norm(dim=1, keepdim=True).clamp_min(1e-12)


def one_hot_targets(labels: torch.Tensor, dim: int) -> torch.Tensor:
    """One-hot targets embedded in R^dim (dim >= classes), as the companion paper's MSE setting."""
    out = torch.zeros(labels.shape[0], dim)
    out[torch.arange(labels.shape[0]), labels] = 1.0
    return out
