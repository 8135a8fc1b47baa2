
import pytest
import torch

from deeplimits.models import HZResNet, ResidualMLP
from deeplimits.models.hz import HEAD_NORM
from deeplimits.seeding import torch_generator


def gens(n, label="t"):
    return [torch_generator(0, label, i) for i in range(n)]


@pytest.mark.parametrize("block,in_shape", [("conv", (1, 6, 6)), ("dense", (1, 6, 6))])
def test_hz_projection_keeps_bounds(block, in_shape):
    model = HZResNet(gens(2), in_shape, 3, depth=3, width=4, block=block)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(50.0)
    model.project_()
    for v in model.V:
        norms = torch.linalg.vector_norm(v.detach(), dim=tuple(range(3, v.dim())))
        assert float(norms.max()) <= 1.0 + 1e-6
    for c in model.c:
        assert float(c.detach().abs().max()) <= 1.0
    head = model.head_w.detach().norm(dim=2)
    assert float(head.min()) >= HEAD_NORM[0] - 1e-3 and float(head.max()) <= HEAD_NORM[1] + 1e-3


def test_hz_effective_weights_carry_the_depth_scaling():
    model = HZResNet(gens(1), (1, 4, 4), 3, depth=5, width=4, alpha=0.2, branch_layers=2)
    ws, bs = model.effective(4)
    assert torch.allclose(ws[0], model.V[0][:, 3] * 4 ** -0.6)
    assert torch.allclose(bs[1], model.c[1][:, 3] * 4 ** -1.2)


@pytest.mark.parametrize("block", ["conv", "dense"])
def test_hz_gradients_match_finite_differences(block):
    torch.manual_seed(0)
    model = HZResNet(gens(2), (1, 4, 4), 3, depth=2, width=3, block=block).double()
    with torch.no_grad():
        for c in model.c:
            c.uniform_(-0.5, 0.5)
    x = torch.rand(2, 3, 1, 4, 4, dtype=torch.float64)
    params = tuple(model.parameters())

    def f(*ps):
        state = dict(zip([n for n, _ in model.named_parameters()], ps))
        out = torch.func.functional_call(model, state, (x,))
        return out.pow(2).sum()

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-5)


def test_residual_gradients_match_finite_differences():
    model = ResidualMLP(gens(2), dim=3, depth=4, activation="tanh", delta="per_layer", bias=True,
                        trainable=("A", "b", "delta"), init_std=1.0, dtype=torch.float64)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = tuple(p for p in model.parameters() if p.requires_grad)

    def f(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,)).pow(2).sum()

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-6)


def test_stacked_seeds_equal_separate_models():
    both = HZResNet([torch_generator(0, "s", 0), torch_generator(0, "s", 1)], (1, 5, 5), 4, depth=3, width=4)
    alone = HZResNet([torch_generator(0, "s", 1)], (1, 5, 5), 4, depth=3, width=4)
    for (name, p2), p1 in zip(both.named_parameters(), alone.parameters()):
        assert torch.equal(p2[1], p1[0]), name
    x = torch.rand(6, 1, 5, 5)
    out2 = both(x.expand(2, *x.shape))
    out1 = alone(x.expand(1, *x.shape))
    assert torch.allclose(out2[1], out1[0], atol=1e-5)


def test_residual_init_variance_has_the_documented_scale():
    d, depth = 16, 64
    model = ResidualMLP(gens(1), dim=d, depth=depth, init_std=2.0, init_scaling="dL")
    # Entries ~ N(0, 4 / (d L)); 16384 draws give the variance to about 1.1% (sd sqrt(2/n)).
    var = float(model.A.detach().var())
    assert var == pytest.approx(4.0 / (d * depth), rel=0.05)
    model2 = ResidualMLP(gens(1), dim=d, depth=depth, init_std=1.0, init_scaling="dL2")
    assert float(model2.A.detach().var()) == pytest.approx(1.0 / (d * depth**2), rel=0.05)


def test_residual_delta_modes():
    for mode, value in [("one", 1.0), ("inv", 1 / 8), ("inv_sqrt", 8 ** -0.5), ("shared", 1 / 8)]:
        m = ResidualMLP(gens(1), dim=2, depth=8, delta=mode, init_std=1.0, fused=False)
        # A one-layer-deep check of the step: h(1) - h(0) = delta * tanh(A(0) h(0)).
        one = ResidualMLP(gens(1), dim=2, depth=1, delta="one", init_std=1.0, fused=False)
        one.A.data = m.A.data[:, :1].clone()
        x = torch.randn(1, 3, 2)
        step = one(x) - x
        m_first = torch.bmm(x, m.A[:, 0].transpose(1, 2)).tanh() * value
        assert torch.allclose(step * value, m_first, atol=1e-6)
        assert float(m.delta.expand(1, 8)[0, 3]) == pytest.approx(value)


# ---------------------------------------------------------------- Huang-Zhang theory


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("delta", ["shared", "per_layer", "inv_sqrt"])
def test_fused_cpu_stack_equals_the_pytorch_reference(activation, delta):
    model = ResidualMLP(gens(3), dim=4, depth=9, activation=activation, delta=delta, bias=True,
                        trainable=("A", "b", "delta"), init_std=1.0, dtype=torch.float64)
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    grads = {}
    for fused in (False, True):
        model.fused = fused
        for p in model.parameters():
            p.grad = None
        out = model(x)
        out.pow(2).sum().backward()
        grads[fused] = (out.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad])
    assert torch.allclose(grads[True][0], grads[False][0], atol=1e-13)
    for a, b in zip(grads[True][1], grads[False][1]):
        assert torch.allclose(a, b, atol=1e-12)


def test_fused_stack_keeps_float32():
    model = ResidualMLP(gens(1), dim=3, depth=4, activation="relu", init_std=1.0, fused=True)
    out = model(torch.randn(1, 2, 3))
    out.sum().backward()
    assert out.dtype == torch.float32 and model.A.grad.dtype == torch.float32


def test_residual_conv_gradients_and_stacked_seeds():
    from deeplimits.models import ResidualConv

    model = ResidualConv(gens(2, "conv"), channels=2, depth=3, activation="tanh", delta="per_layer",
                         trainable=("A", "b", "delta"), dtype=torch.float64)
    x = torch.randn(2, 3, 2, 4, 4, dtype=torch.float64)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = tuple(p for p in model.parameters() if p.requires_grad)

    def f(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,)).pow(2).sum()

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-6)
    alone = ResidualConv(gens(2, "conv")[1:], channels=2, depth=3, activation="tanh", delta="per_layer",
                         dtype=torch.float64)
    assert torch.allclose(model(x)[1], alone(x[1:])[0], atol=1e-12)


def test_residual_input_and_output_maps():
    model = ResidualMLP(gens(2), dim=6, depth=3, in_dim=4, out_dim=3, init_std=1.0,
                        trainable=("A", "in_map"), dtype=torch.float64, fused=False)
    out = model(torch.randn(2, 5, 4, dtype=torch.float64))
    assert out.shape == (2, 5, 3)
    out.sum().backward()
    assert model.in_map.grad is not None and model.out_map.grad is None  # out_map fixed


def test_smooth_profile_init_has_bounded_variation_across_depth():
    from deeplimits.pvariation import p_variation

    for depth in (32, 512):
        smooth = ResidualMLP(gens(1), dim=4, depth=depth, init_std=1.0, init_scaling="d", init_profile="smooth")
        iid = ResidualMLP(gens(1), dim=4, depth=depth, init_std=1.0, init_scaling="d")
        v_smooth = p_variation(smooth.A[0].detach().numpy(), 1)
        v_iid = p_variation(iid.A[0].detach().numpy(), 1)
        assert v_smooth < 0.1 * v_iid
    # 1-variation of a smooth profile stays bounded as depth grows (same generator draws).
    assert v_smooth < 20


@pytest.mark.parametrize("init", ["he", "convergent"])
def test_plain_relu_gradients_and_init(init):
    from deeplimits.models import PlainReLU

    model = PlainReLU(gens(2, "plain"), in_dim=5, width=4, depth=3, n_classes=3, init=init, alpha=1.0).double()
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    names = [n for n, _ in model.named_parameters()]

    def f(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,)).pow(2).sum()

    assert torch.autograd.gradcheck(f, tuple(model.parameters()), eps=1e-6, atol=1e-6)
    if init == "convergent":
        dev = torch.linalg.matrix_norm(model.W.detach() - torch.eye(4, dtype=torch.float64), ord=2)
        n = torch.arange(1, 4, dtype=torch.float64)
        assert torch.allclose(dev, (n**-2.0).expand(2, 3))


def test_he_init_variance():
    from deeplimits.models import PlainReLU

    model = PlainReLU(gens(1, "he"), in_dim=3, width=64, depth=8, n_classes=2, init="he")
    assert float(model.W.detach().var()) == pytest.approx(2.0 / 64, rel=0.05)  # 32768 draws
