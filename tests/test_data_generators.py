import pytest
import torch

from deeplimits.data import synthetic


@pytest.mark.parametrize("overlap", [0.0, 0.05, 0.2])
def test_near_orthogonal_inputs_respect_the_overlap_bound(overlap):
    x, y, _, _, meta = synthetic.near_orthogonal(0, dim=16, n=8, max_overlap=overlap)
    gram = x @ x.T
    assert torch.allclose(torch.diag(gram), torch.ones(8, dtype=x.dtype))
    off = (gram - torch.diag(torch.diag(gram))).abs().max()
    assert float(off) <= overlap + 1e-12
    assert meta["achieved_max_overlap"] == pytest.approx(float(off))
    assert torch.allclose(y.norm(dim=1), torch.ones(8, dtype=y.dtype))


def test_near_orthogonal_refuses_more_points_than_dimensions():
    with pytest.raises(ValueError, match="n <= dim"):
        synthetic.near_orthogonal(0, dim=4, n=5)


def test_ode_data_are_unit_norm_and_deterministic():
    a = synthetic.ode(3, dim=10, n_train=64, n_test=16)
    b = synthetic.ode(3, dim=10, n_train=64, n_test=16)
    for t in a[:4]:
        assert torch.allclose(t.norm(dim=1), torch.ones(t.shape[0]), atol=1e-6)
    assert all(torch.equal(u, v) for u, v in zip(a[:4], b[:4]))
    assert not torch.equal(a[0], synthetic.ode(4, dim=10, n_train=64, n_test=16)[0])


def test_digits_split_and_range():
    x_tr, y_tr, x_te, y_te, meta = synthetic.digits(0, test_fraction=0.2)
    assert x_tr.shape[1:] == (1, 8, 8) and len(x_tr) + len(x_te) == 1797
    assert float(x_tr.min()) >= 0 and float(x_tr.max()) <= 1
    assert meta["classes"] == [str(i) for i in range(10)]


def test_random_conv_features_have_25_unit_norm_entries():
    feats = synthetic.random_conv_features(torch.rand(5, 1, 28, 28), seed=0)
    assert feats.shape == (5, 25)
    assert torch.allclose(feats.norm(dim=1), torch.ones(5))
    targets = synthetic.one_hot_targets(torch.tensor([0, 9]), 25)
    assert targets.shape == (2, 25) and targets.sum() == 2 and targets[1, 9] == 1
