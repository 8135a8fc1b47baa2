"""HZ.1: one alpha's random-ResNet curve resumes after an interruption; the claim judges curves."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from deeplimits.analysis import huang_zhang as hz


def _curve(monkeypatch, checkpoint, key="k", fail_at=None, depth=12):
    calls = []
    real_block = hz.hz_block

    def counting_block(*args, **kwargs):
        calls.append(1)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt("simulated kill")
        return real_block(*args, **kwargs)

    monkeypatch.setattr(hz, "hz_block", counting_block)
    x0 = torch.rand(4, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(7)
    diffs = hz.random_increments(x0, depth, 0.2, gen, checkpoint=checkpoint, checkpoint_every=4,
                                 checkpoint_key=key)
    return diffs, len(calls)


def test_hz1_curve_resumes_from_its_checkpoint_with_the_same_values(monkeypatch, tmp_path):
    whole, n_calls = _curve(monkeypatch, None)
    assert n_calls == 12 and np.all(np.isfinite(whole)) and whole[-1] < whole[0]
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        _curve(monkeypatch, ckpt, fail_at=10)  # killed in block 10; the last checkpoint is block 8
    assert torch.load(ckpt, weights_only=True)["n"] == 8
    resumed, n_calls = _curve(monkeypatch, ckpt)
    assert n_calls == 4  # blocks 9..12 only
    np.testing.assert_array_equal(resumed, whole)


def test_hz1_checkpoint_of_other_settings_is_not_resumed(monkeypatch, tmp_path):
    whole, _ = _curve(monkeypatch, None)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        _curve(monkeypatch, ckpt, key="other", fail_at=10)
    again, n_calls = _curve(monkeypatch, ckpt, key="k")
    assert n_calls == 12
    np.testing.assert_array_equal(again, whole)


def _increments(tmp_path, alpha, slope, inputs):
    n = np.arange(1, 501)
    path = tmp_path / f"a{alpha:g}.csv"
    pd.DataFrame({"alpha": alpha, "n": n, "diff": 3.0 * n**slope, "source": "this run",
                  "inputs": inputs}).to_csv(path, index=False)
    return path


SETTINGS = {"fit_from": 10, "tolerance": 0.05, "reference_alpha": 0.2}


def test_hz1_claim_judges_every_alpha_and_sets_the_authors_values_beside_ours(repo, tmp_path):
    ref = repo / "reference" / "huang_zhang_random_resnet_increments.csv"
    authors = "1000x128x32x32"
    files = [_increments(tmp_path, 0.2, -1.2, authors), _increments(tmp_path, 0.5, -1.5, authors)]
    out = tmp_path / "all"
    result = hz.hz1(SETTINGS, files, ref, out, scale="paper")
    claim = json.loads((out / "claim.json").read_text())
    assert result["ok"] and claim["verdict"] == "reproduced" and claim["label"] == ""
    assert set(claim["values"]["slopes"]) == {"0.2", "0.5"}
    points = claim["values"]["authors_points"]
    assert set(points) == {"1", "10", "100", "500"}
    assert points["1"]["authors"] == pytest.approx(3.1854) and points["1"]["ours"] == pytest.approx(3.0)
    assert "authors 3.19" in claim["measured"]

    # One alpha off its target fails the claim; other inputs than the authors' give no pointwise comparison.
    files = [_increments(tmp_path, 0.2, -1.2, "64x16x16x16"), _increments(tmp_path, 0.5, -1.3, "64x16x16x16")]
    result = hz.hz1(SETTINGS, files, ref, tmp_path / "small", scale="quick", label="some alphas")
    claim = json.loads((tmp_path / "small" / "claim.json").read_text())
    assert not result["ok"] and claim["verdict"] == "not reproduced"
    assert claim["values"]["authors_points"] == {} and claim["label"] == "some alphas"
