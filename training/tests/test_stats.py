"""Per-patch statistics (histoae_training.stats) against independent scipy/scikit-image implementations."""

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2hsv
from skimage.metrics import structural_similarity

from histoae_training import stats


def _patch(path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    x = ((rgb.astype(np.float32) / 255 - 0.5) / 0.5).transpose(2, 0, 1)
    return rgb, x


@pytest.fixture(scope="module")
def cases(test_patches):
    rng = np.random.default_rng(3)
    out = []
    for p in sorted(test_patches.rglob("*.png")):
        rgb, x = _patch(p)
        xh = np.clip(ndimage.uniform_filter(x, size=(1, 3, 3)) + rng.normal(0, 0.03, x.shape), -1, 1)
        out.append((rgb, x, xh.astype(np.float32)))
    return out


def ref_ssim_map(x, y):
    _, s = structural_similarity(x.astype(np.float64), y.astype(np.float64), channel_axis=0, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=2.0, full=True)
    return s.mean(axis=0)


def ref_smooth(m):
    return ndimage.gaussian_filter(m.astype(np.float64), sigma=4.0, truncate=3.0, mode="reflect")  # radius 12


def test_reflect_index_and_kernel():
    for n, r in ((150, 5), (150, 12), (4, 7), (1, 3)):
        a = np.arange(n)
        assert np.array_equal(a[stats.reflect_index(n, r)], np.pad(a, r, mode="symmetric"))
    w = stats.gaussian_kernel1d(1.5, 5)
    assert w.shape == (11,) and w.sum() == pytest.approx(1.0)
    # scipy's kernel: filter a unit impulse
    imp = np.zeros(31)
    imp[15] = 1
    assert np.allclose(ndimage.gaussian_filter1d(imp, 1.5, truncate=3.5)[10:21], w, atol=1e-15)


def test_gaussian_filter_matches_scipy(cases):
    _, x, _ = cases[0]
    for sigma, radius in ((1.5, 5), (4.0, 12)):
        ref = ndimage.gaussian_filter(x[0].astype(np.float64), sigma, truncate=radius / sigma, mode="reflect")
        assert np.abs(stats.gaussian_filter2d(x[0], sigma, radius) - ref).max() < 1e-12


def test_maps(cases):
    for _, x, xh in cases:
        d = x.astype(np.float64) - xh.astype(np.float64)
        assert np.allclose(stats.se_map(x, xh), np.mean(d ** 2, axis=0), rtol=0, atol=1e-15)
        assert np.allclose(stats.ae_map(x, xh), np.mean(np.abs(d), axis=0), rtol=0, atol=1e-15)
        assert np.abs(stats.ssim_map(x, xh) - ref_ssim_map(x, xh)).max() < 1e-10


def test_scalar_statistics(cases):
    for _, x, xh in cases:
        d = x.astype(np.float64) - xh.astype(np.float64)
        assert stats.mse(x, xh) == pytest.approx(np.mean(d ** 2), rel=1e-12)
        assert stats.l1(x, xh) == pytest.approx(np.mean(np.abs(d)), rel=1e-12)
        ref = structural_similarity(x.astype(np.float64), xh.astype(np.float64), channel_axis=0,
                                    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2.0)
        assert abs(stats.ssim(x, xh) - ref) < 1e-10
        se = np.mean(d ** 2, axis=0)
        assert stats.mse_p99(x, xh) == pytest.approx(np.percentile(ref_smooth(se), 99), rel=1e-9)
        ds = (1 - ref_ssim_map(x, xh)) / 2
        assert stats.dssim_p99(x, xh) == pytest.approx(np.percentile(ref_smooth(ds), 99), rel=1e-9)


def test_quality_signals(cases):
    for rgb, _, _ in cases:
        hsv = rgb2hsv(rgb)
        mx = rgb.max(axis=2)
        ref = np.mean(((hsv[..., 1] > 0.07) & (hsv[..., 2] < 0.92)) | (mx == 0))
        assert stats.tissue_fraction(rgb) == pytest.approx(ref, abs=1e-12)
        g = (0.299 * rgb[..., 0].astype(np.float64) + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255
        lap = ndimage.laplace(g, mode="reflect")
        tissue = ((hsv[..., 1] > 0.07) & (hsv[..., 2] < 0.92)) | (mx == 0)
        per_tissue_pixel = np.mean(lap[tissue] ** 2) if tissue.any() else 0.0
        assert stats.sharpness(rgb) == pytest.approx(np.sqrt(np.mean(lap ** 2) * per_tissue_pixel), rel=1e-10)
    # blank glass has (almost) no tissue; tissue tiles mostly tissue
    fr = {tuple(rgb.shape): 0 for rgb, _, _ in cases}
    assert fr
    fracs = sorted(stats.tissue_fraction(rgb) for rgb, _, _ in cases)
    assert fracs[0] < 0.05 and fracs[-1] > 0.9


def test_tissue_fraction_edge_cases():
    img = np.zeros((2, 3, 3), np.uint8)            # black: counts as tissue
    assert stats.tissue_fraction(img) == 1.0
    img[:] = 240                                    # grey glass: saturation 0, value 0.94
    assert stats.tissue_fraction(img) == 0.0
    img[0, 0] = (200, 100, 150)                     # pink: s = 0.5, v = 0.78
    assert stats.tissue_fraction(img) == pytest.approx(1 / 6)


def test_patch_statistics_consistent(cases):
    rgb, x, xh = cases[0]
    s = stats.patch_statistics(x, xh, rgb)
    assert tuple(s) == stats.STATISTIC_NAMES[:-1]  # stain_p99 needs a stain normal (test_stain.py)
    for name in ("mse", "l1", "ssim", "mse_p99", "dssim_p99"):
        assert s[name] == pytest.approx(getattr(stats, name)(x, xh), rel=1e-12)
    assert s["tissue_fraction"] == stats.tissue_fraction(rgb)
    assert s["sharpness"] == stats.sharpness(rgb)


def test_calibration_block():
    levels = stats.QUANTILE_LEVELS
    assert len(levels) == 105 and levels[:4] == (0.0, 0.001, 0.005, 0.01) and levels[-4:] == (0.99, 0.995, 0.999, 1.0)
    assert all(b > a for a, b in zip(levels, levels[1:]))
    rng = np.random.default_rng(0)
    n = 50
    vals = {k: list(rng.random(n) * 0.5 + 0.1) for k in stats.STATISTIC_NAMES}
    vals["tissue_fraction"][3] = 0.0  # a zero: no log figures for this one
    block = stats.calibration_block(vals, "unit test", {"normal": [0.0, 0.0, 1.0], "pixels": 5000, "min_od": 0.15,
                                                          "od_floor": 0.3})
    assert block["patches"] == n and block["source"] == "unit test"
    assert block["quantile_levels"] == list(levels)
    for k in stats.STATISTIC_NAMES:
        s = block["statistics"][k]
        v = np.asarray(vals[k])
        assert len(s["quantiles"]) == 105
        assert s["quantiles"][0] == v.min() and s["quantiles"][-1] == v.max()
        assert s["quantiles"][52] == pytest.approx(np.quantile(v, 0.5))
        assert s["mean"] == pytest.approx(v.mean()) and s["std"] == pytest.approx(v.std())
    assert "log_mean" not in block["statistics"]["tissue_fraction"]
    assert block["statistics"]["ssim"]["log_mean"] == pytest.approx(np.log(1 - np.asarray(vals["ssim"])).mean())
    assert block["statistics"]["mse"]["log_std"] == pytest.approx(np.log(vals["mse"]).std())
    json.dumps(block, allow_nan=False)
    assert len(stats.calibration_digest(block)) == 64
