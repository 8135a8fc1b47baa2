"""A model's forward and backward captured in CUDA graphs (torch.cuda.make_graphed_callables).

Why: in narrow deep nets each layer launches a few small kernels, and on a GPU the
launches, not the arithmetic, set the step time (about 50 us a layer eager, about 11 us
replayed from a graph). A replay is one launch per direction. The optimiser step stays
outside the graph, so every optimiser, scheduler and projection works unchanged.

The graph holds fixed input and output buffers, so it serves only batches of the shape it
was captured with; the trainer sends other shapes (a last, smaller batch) and evaluation
through the module's own forward, which this leaves in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)


def graphed_forward(model: torch.nn.Module, sample: torch.Tensor) -> Callable | None:
    """A callable equal to model(x) for x shaped like `sample`, replayed from CUDA graphs; None
    (and a logged reason) when the model cannot be captured, e.g. it syncs with the host."""
    if sample.device.type != "cuda":
        log.info("no CUDA graph: the model runs on %s", sample.device)
        return None
    try:
        graphed = torch.cuda.make_graphed_callables(model, (sample,))
    except Exception as err:  # what blocks a capture depends on the model: report and train eagerly
        log.warning("CUDA graph capture failed, training eagerly: %s", err)
        model.__dict__.pop("forward", None)
        return None
    forward = graphed.forward
    # make_graphed_callables replaced the module's forward; the module keeps its eager one.
    model.__dict__.pop("forward", None)
    log.info("forward and backward captured in CUDA graphs for batches of shape %s", tuple(sample.shape))
    return forward
