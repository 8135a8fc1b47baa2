"""The training engine: all seeds of one cell in one process, resumable, divergence-aware."""

from .trainer import TrainResult, TrainSettings, resolve_device, train

__all__ = ["TrainResult", "TrainSettings", "resolve_device", "train"]
