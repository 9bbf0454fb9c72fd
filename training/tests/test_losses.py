"""Loss terms against hand-computed values (docs/model.md §14)."""

import math

import pytest
import torch

from histoae_training.losses import LossWeights, ReconstructionLoss, l1_loss, mse_loss

C1 = (0.01 * 2.0) ** 2
C2 = (0.03 * 2.0) ** 2


def test_mse_l1_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])        # (1, 1, 2, 2)
    y = torch.tensor([[[[0.5, 1.0], [0.0, -0.5]]]])
    # diffs: -0.5, 0, -1, 1 -> squares 0.25, 0, 1, 1 ; abs 0.5, 0, 1, 1
    assert mse_loss(y, x).item() == pytest.approx(2.25 / 4)
    assert l1_loss(y, x).item() == pytest.approx(2.5 / 4)


def test_constant_images_by_hand():
    # x = 0 everywhere, x_hat = 0.5 everywhere: every SSIM window has mu_x = 0, mu_y = 0.5, zero (co)variances.
    x = torch.zeros(2, 3, 20, 20)
    y = torch.full((2, 3, 20, 20), 0.5)
    ssim = (C1 * C2) / ((0.25 + C1) * C2)
    w = LossWeights(alpha=2.0, beta=3.0, gamma=0.5)
    total, terms = ReconstructionLoss(w)(y, x)
    assert terms["mse"] == pytest.approx(0.25)
    assert terms["l1"] == pytest.approx(0.5)
    assert terms["ssim"] == pytest.approx(ssim, rel=1e-5)
    assert total.item() == pytest.approx(2.0 * 0.25 + 3.0 * 0.5 + 0.5 * (1 - ssim), rel=1e-6)
    assert terms["loss"] == pytest.approx(total.item())


def test_two_level_image_by_hand():
    # Identical structure, x_hat = x + 0.1 (a pure brightness shift): variances and covariance are equal,
    # so SSIM per window = (2 mx my + C1)/(mx^2 + my^2 + C1). With x constant c the windows are constant.
    c = -0.3
    x = torch.full((1, 1, 11, 11), c)
    y = x + 0.1
    mx, my = c, c + 0.1
    expect = (2 * mx * my + C1) / (mx * mx + my * my + C1)
    _, terms = ReconstructionLoss()(y, x)
    assert terms["ssim"] == pytest.approx(expect, abs=1e-5)  # float32 moments
    assert terms["mse"] == pytest.approx(0.01, rel=1e-5)
    assert terms["l1"] == pytest.approx(0.1, rel=1e-5)


def test_identical_images_zero_loss_and_default_weights():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 30, 30) * 2 - 1
    total, terms = ReconstructionLoss()(x.clone(), x)
    assert ReconstructionLoss().weights == LossWeights(1.0, 1.0, 1.0)
    assert terms["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert abs(total.item()) < 1e-6


def test_gradients_and_autocast_keep_float32():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 24, 24) * 2 - 1
    y = (torch.rand(2, 3, 24, 24) * 2 - 1).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, terms = ReconstructionLoss()(y.to(torch.bfloat16), x)
    assert total.dtype == torch.float32
    total.backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()
    assert all(math.isfinite(v) for v in terms.values())
