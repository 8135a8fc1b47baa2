"""HZ.3 at paper scale fits a GPU machine's host memory: its truncated networks run over the
10,000 CIFAR-10 test images in chunks. Checked on the `meta` device (no data, shapes only)
with the paper config's sizes, counting the bytes of every tensor alive at once."""

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from deeplimits.analysis.huang_zhang import truncation_curves
from deeplimits.config import load_config
from deeplimits.models import HZResNet
from deeplimits.seeding import torch_generator

CIFAR10_TEST = (10_000, 3, 32, 32)
LIMIT_GIB = 8


class PeakMemory(TorchDispatchMode):
    """The largest total size of the tensors that ops create and that are alive together
    (views and in-place results share their input's memory and are not counted again)."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0

    def _free(self, size):
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {id(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and id(t) not in inputs and not t._is_view():
                size = t.numel() * t.element_size()
                self.live += size
                self.peak = max(self.peak, self.live)
                weakref.finalize(t, self._free, size)
        return out


def test_peak_memory_counter_on_known_allocations():
    with PeakMemory() as pm:
        a = torch.empty(1024, 1024, device="meta")          # 4 MiB
        b = torch.empty(2048, 1024, device="meta")          # 8 MiB
        del a, b
        c = torch.empty(1024, 1024, device="meta").view(-1)  # 4 MiB, the view not counted again
        del c
    assert pm.peak == 12 * 2**20 and pm.live == 0


def test_hz3_truncation_at_paper_scale_keeps_its_memory_under_the_limit(repo):
    hz2 = load_config(repo / "config.yaml", {"scale": "paper"})["experiments"]["hz2"]
    assert hz2["dataset"] == "cifar10"
    gens = [torch_generator(0, "hz3-memory", s) for s in range(hz2["seeds"])]
    model = HZResNet(gens, CIFAR10_TEST[1:], 10, depth=hz2["depth"], width=hz2["width"],
                     branch_layers=hz2["branch_layers"], alpha=hz2["alpha"], block=hz2["block"])
    model = model.double().to("meta")
    x_test = torch.empty(CIFAR10_TEST, device="meta")
    with PeakMemory() as pm:
        dist, agree = truncation_curves(model, x_test)
    assert dist.shape == agree.shape == (hz2["depth"] + 1, hz2["seeds"])
    assert pm.peak < LIMIT_GIB * 2**30, f"peak {pm.peak / 2**30:.1f} GiB"
