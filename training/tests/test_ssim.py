"""SSIM (torch) against scikit-image's structural_similarity, within 1e-5."""

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from histoae_training.ssim import ssim, ssim_map_valid, ssim_per_image


def sk_ssim(x: np.ndarray, y: np.ndarray) -> float:
    return structural_similarity(x.astype(np.float64), y.astype(np.float64), channel_axis=0, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=2.0)


def _pairs(test_patches):
    rng = np.random.default_rng(0)
    out = []
    for p in sorted((test_patches / "train").glob("*.png"))[:3]:
        x = (np.asarray(Image.open(p), dtype=np.float32) / 255 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)
        for noise in (0.02, 0.2):
            y = np.clip(x + rng.normal(0, noise, x.shape), -1, 1).astype(np.float32)
            out.append((x, y))
    # blurred/shifted and unrelated pairs
    x, _ = out[0]
    out.append((x, np.roll(x, 3, axis=2)))
    out.append((x, out[2][0]))
    out.append(((rng.random((3, 40, 57)) * 2 - 1).astype(np.float32), (rng.random((3, 40, 57)) * 2 - 1).astype(np.float32)))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_skimage(test_patches, dtype):
    for x, y in _pairs(test_patches):
        ref = sk_ssim(x, y)
        got = ssim_per_image(torch.from_numpy(x)[None].to(dtype), torch.from_numpy(y)[None].to(dtype)).item()
        assert abs(got - ref) <= 1e-5, (got, ref)


def test_batch_mean_and_shapes(test_patches):
    pairs = _pairs(test_patches)[:4]
    xs = torch.from_numpy(np.stack([p[0] for p in pairs]))
    ys = torch.from_numpy(np.stack([p[1] for p in pairs]))
    per = ssim_per_image(xs, ys)
    assert per.shape == (4,)
    assert ssim(xs, ys).item() == pytest.approx(per.mean().item())
    assert ssim_map_valid(xs, ys).shape == (4, 3, 140, 140)
    for i, (x, y) in enumerate(pairs):
        assert abs(per[i].item() - sk_ssim(x, y)) <= 1e-5


def test_symmetric_and_bounded():
    torch.manual_seed(1)
    x = torch.rand(2, 3, 30, 30) * 2 - 1
    y = torch.rand(2, 3, 30, 30) * 2 - 1
    torch.testing.assert_close(ssim_per_image(x, y), ssim_per_image(y, x))
    assert torch.all(ssim_per_image(x, y) <= 1)
