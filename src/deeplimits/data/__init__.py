"""Datasets: download with mirrors and checksums, synthetic generators, one prepared format."""

from .prepared import load_prepared, save_prepared

__all__ = ["load_prepared", "save_prepared"]
