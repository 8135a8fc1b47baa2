"""The one piecewise-linear profile module: exact at its nodes, linear between them, the
same through a 0-d time (the ODE's right-hand side) as through a grid."""

import math

import torch

from deeplimits.profiles import closed_on_grid, on_grid, random_sine_profile, resample, sine_profile


def test_layer_nodes_are_hit_exactly_and_the_profile_is_linear_between_them():
    nodes = torch.tensor([[0.0], [2.0], [4.0], [10.0]], dtype=torch.float64)  # t = 0, 1/4, 1/2, 3/4
    grid = torch.tensor([0.0, 0.25, 0.375, 0.75, 0.9, 1.0], dtype=torch.float64)
    assert on_grid(nodes, grid).flatten().tolist() == [0.0, 2.0, 3.0, 10.0, 10.0, 10.0]
    assert torch.equal(resample(nodes, 8), on_grid(nodes, torch.arange(8, dtype=torch.float64) / 8))


def test_closed_nodes_include_both_ends_and_a_scalar_time_matches_the_grid():
    nodes = torch.tensor([[1.0, 0.0], [3.0, 1.0], [-1.0, 2.0]], dtype=torch.float64, requires_grad=True)  # 0, 1/2, 1
    grid = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    on = closed_on_grid(nodes, grid)
    assert on[:, 0].tolist() == [1.0, 2.0, 3.0, 1.0, -1.0]
    for t, row in zip(grid, on):
        assert torch.equal(closed_on_grid(nodes, t), row)
    closed_on_grid(nodes, torch.tensor(0.75, dtype=torch.float64)).sum().backward()
    assert nodes.grad[:, 0].tolist() == [0.0, 0.5, 0.5]


def test_the_sine_profile_and_its_random_draw():
    c = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    t = torch.tensor([0.0, 0.25, 0.5], dtype=torch.float64)
    expected = [1.0, 1.0 + 0.5 + 3.0, 1.0 + 1.0 + 3.0 * math.sin(math.pi)]
    assert torch.allclose(sine_profile(t, c), torch.tensor(expected, dtype=torch.float64))
    gen = torch.Generator().manual_seed(0)
    draw = random_sine_profile(64, (3, 3), gen, torch.float64)
    coeffs = torch.randn(3, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    scale = math.sqrt(1 + 1 / 3 + 1 / 2)
    assert torch.equal(draw, sine_profile(torch.arange(64, dtype=torch.float64) / 64, coeffs) / scale)
