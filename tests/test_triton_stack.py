"""The Triton residual stack, checked against ResidualMLP's plain PyTorch path in float64:
compiled on a GPU, run by Triton's interpreter on a CPU (conftest sets TRITON_INTERPRET)."""

from types import SimpleNamespace

import pytest
import torch

from deeplimits.models import ResidualMLP
from deeplimits.seeding import torch_generator

pytest.importorskip("triton")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

from deeplimits.models.residual_triton import _tanh  # noqa: E402


@triton.jit
def _tanh_kernel(z_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """The stack's tanh alone, elementwise."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, _tanh(tl.load(z_ptr + offs, mask=mask)), mask=mask)


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(scope="module")
def triton_stack():
    from deeplimits.models.residual_triton import triton_stack

    return triton_stack


def reference(model):
    """A float64 copy of `model` on the PyTorch path."""
    ref = ResidualMLP([torch_generator(0, "tri", i) for i in range(model.seeds)], dim=model.dim,
                      depth=model.depth, activation=model.activation, delta=model.delta_mode, bias=True,
                      trainable=("A", "b", "delta"), dtype=torch.float64, fused=False)
    ref.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    return ref


# (seeds, batch, width, depth): padded width (10 -> 16), padded batch (50 -> 64), several
# batch blocks (width 64 -> blocks of 64 rows, batch 150 -> 3 blocks), a non-power-of-two width.
SHAPES = [(2, 50, 10, 7), (2, 150, 64, 3), (1, 17, 20, 5)]


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("shape", SHAPES)
def test_triton_stack_equals_the_pytorch_reference(triton_stack, activation, shape):
    seeds, batch, width, depth = shape
    gen = torch.Generator().manual_seed(1)
    model = ResidualMLP([torch_generator(0, "tri", i) for i in range(seeds)], dim=width, depth=depth,
                        activation=activation, delta="per_layer", bias=True, bias_std=1.0,
                        trainable=("A", "b", "delta"), init_std=2.0, init_scaling="d", fused=False)
    x = torch.randn(seeds, batch, width, generator=gen)
    weight = torch.randn(seeds, batch, width, generator=gen)
    h0 = x.to(DEVICE).requires_grad_()
    params = [p.detach().to(DEVICE).requires_grad_() for p in (model.A, model.b, model.delta)]
    out = triton_stack(h0, params[0], params[1], params[2].expand(seeds, depth), activation)
    grads = torch.autograd.grad((out * weight.to(DEVICE)).sum(), [h0, *params])
    out, grads = out.cpu(), [g.cpu() for g in grads]

    ref = reference(model)
    h0_ref = x.double().requires_grad_()
    out_ref = ref._stack(h0_ref)
    grads_ref = torch.autograd.grad((out_ref * weight.double()).sum(), [h0_ref, ref.A, ref.b, ref.delta])

    assert out.dtype == torch.float32
    for got, want in zip([out, *grads], [out_ref, *grads_ref]):
        scale = want.abs().max().item()
        assert scale > 0
        assert (got.double() - want).abs().max().item() <= 1e-5 * scale


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
def test_triton_stack_is_finite_where_tanh_saturates(triton_stack):
    # exp(2z) overflows to inf for large z; the kernel's tanh must still give +-1.
    a = torch.full((1, 2, 16, 16), 50.0, device=DEVICE)
    h0 = torch.ones(1, 16, 16, device=DEVICE)
    out = triton_stack(h0, a, torch.zeros(1, 2, 16, device=DEVICE), torch.ones(1, 2, device=DEVICE), "tanh")
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.full_like(out, 3.0))


def test_backend_choice():
    narrow = ResidualMLP([torch_generator(0, "tri", 0)], dim=10, depth=3, fused="auto")
    assert narrow.fused_backend(torch.zeros(1, 50, 10)) == "numba"
    assert narrow.fused_backend(torch.zeros(1, 5000, 10)) == "numba"  # narrow layers: numba at any batch
    middle = ResidualMLP([torch_generator(0, "tri", 0)], dim=32, depth=3, fused="auto")
    assert middle.fused_backend(torch.zeros(1, 256, 32)) == "numba"
    assert middle.fused_backend(torch.zeros(1, 512, 32)) == "bmm"  # past FUSED_MAX_WORK
    wide = ResidualMLP([torch_generator(0, "tri", 0)], dim=64, depth=3, fused="auto")
    assert wide.fused_backend(torch.zeros(1, 16, 64)) == "bmm"
    wide.fused = True
    assert wide.fused_backend(torch.zeros(1, 16, 64)) == "numba"  # forced
    narrow.fused = "bmm"
    assert narrow.fused_backend(torch.zeros(1, 50, 10)) == "bmm"  # forced
    with pytest.raises(ValueError, match="'bmm', got 'numba'"):
        ResidualMLP([torch_generator(0, "tri", 0)], dim=10, depth=3, fused="numba")
    for model in (narrow, wide):
        model.fused = False
        assert model.fused_backend(torch.zeros(1, 50, model.dim)) is None


def test_backend_choice_on_a_gpu():
    # fused_backend reads only the input's device, dtype and shape: a stand-in for a CUDA tensor.
    def cuda_input(shape, dtype=torch.float32):
        return SimpleNamespace(device=torch.device("cuda"), dtype=dtype, shape=shape)

    narrow = ResidualMLP([torch_generator(0, "tri", 0)], dim=10, depth=3, fused="auto")
    assert narrow.fused_backend(cuda_input((1, 50, 10))) == "triton"
    assert narrow.fused_backend(cuda_input((1, 50, 10), torch.float64)) is None
    assert narrow.fused_backend(cuda_input((1, 2**27, 10))) is None  # states past 32-bit offsets
    wide = ResidualMLP([torch_generator(0, "tri", 0)], dim=65, depth=3, fused="auto")
    assert wide.fused_backend(cuda_input((1, 50, 65))) is None


@pytest.fixture(scope="module")
def triton_tanh():
    import triton

    def run(z):
        out = torch.empty_like(z)
        _tanh_kernel[(triton.cdiv(z.numel(), 1024),)](z, out, z.numel(), BLOCK=1024)
        return out

    return run


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
def test_triton_tanh_is_accurate_for_small_and_large_arguments(triton_tanh):
    mag = torch.logspace(-10, 1, 4000, dtype=torch.float64)
    z = torch.cat([mag, -mag]).float().to(DEVICE)
    got = triton_tanh(z).cpu().double()
    want = torch.tanh(z.cpu().double())
    assert ((got - want).abs() / want.abs()).max().item() <= 1e-6


def test_triton_stack_at_crx4s_initial_scale(triton_stack):
    """CRX.4 starts from weights of scale s0 = 1e-4, where z = A h + b is about 1e-4: the
    stack and its gradients must still match the float64 reference to float32 accuracy."""
    seeds, batch, width, depth = 2, 32, 10, 6
    model = ResidualMLP([torch_generator(0, "tri", i) for i in range(seeds)], dim=width, depth=depth,
                        activation="tanh", delta="per_layer", bias=True, bias_std=1e-4,
                        trainable=("A", "b", "delta"), init_std=1e-4, init_scaling="d", fused=False)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(seeds, batch, width, generator=gen)
    x = x / x.norm(dim=-1, keepdim=True)
    weight = torch.randn(seeds, batch, width, generator=gen)
    params = [p.detach().to(DEVICE).requires_grad_() for p in (model.A, model.b, model.delta)]
    out = triton_stack(x.to(DEVICE), params[0], params[1], params[2].expand(seeds, depth), "tanh")
    grads = [g.cpu() for g in torch.autograd.grad((out * weight.to(DEVICE)).sum(), params)]
    ref = reference(model)
    out_ref = ref._stack(x.double())
    grads_ref = torch.autograd.grad((out_ref * weight.double()).sum(), [ref.A, ref.b, ref.delta])
    # The update delta * tanh(z) is far below h's float32 rounding, so h cannot show it; the
    # gradients can (delta's is sum g tanh(z): 1% off with the old tanh).
    assert (out.cpu().double() - out_ref).abs().max().item() <= 1e-6
    for got, want in zip(grads, grads_ref):
        scale = want.abs().max().item()
        assert scale > 0 and (got.double() - want).abs().max().item() <= 1e-4 * scale
