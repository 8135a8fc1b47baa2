"""deeplimits: replication of four papers on the deep limits of residual and ReLU networks."""

__version__ = "0.1.0"
