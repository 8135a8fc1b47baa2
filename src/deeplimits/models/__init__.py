"""Network families of the four papers. Every model holds S seeds stacked on a leading
dimension: it maps inputs of shape (S, B, ...) to outputs (S, B, ...), and seed s only
ever touches slice s of each parameter, so seeds train together yet independently."""

from .hz import HZResNet, hz_block
from .plain import PlainReLU
from .residual import ResidualConv, ResidualMLP

__all__ = ["HZResNet", "PlainReLU", "ResidualConv", "ResidualMLP", "hz_block"]
