"""The stain statistic of scoring v2: optical density, the stain-plane fit, the residual map and stain_p99."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from histoae_training import stats

#: Ruifrok & Johnston's haematoxylin and eosin OD vectors (unit length): the plane they span is "textbook H&E".
H = np.array([0.650, 0.704, 0.286])
E = np.array([0.072, 0.990, 0.105])


def synthetic_he(rng, n_pix=150, stains=(H, E)):
    """uint8 (n, n, 3) whose ODs are positive mixes of two stain vectors (up to 8-bit rounding)."""
    a = rng.uniform(0.05, 1.2, (n_pix, n_pix, 1))
    b = rng.uniform(0.05, 1.0, (n_pix, n_pix, 1))
    od = a * (stains[0] / np.linalg.norm(stains[0])) + b * (stains[1] / np.linalg.norm(stains[1]))
    u = np.rint(256.0 * 10.0 ** (-od) - 1.0)
    return np.clip(u, 0, 255).astype(np.uint8)


def test_optical_density_formula():
    rgb = np.array([[[255, 0, 127], [1, 254, 64]]], np.uint8)
    od = stats.optical_density(rgb)
    assert od.dtype == np.float64 and od.shape == (1, 2, 3)
    assert od[0, 0, 0] == 0.0                                        # white: no density
    assert od[0, 0, 1] == pytest.approx(np.log10(256.0), rel=1e-15)  # black: log10 256
    for u, v in zip(rgb.reshape(-1), od.reshape(-1)):
        assert v == pytest.approx(-np.log10((int(u) + 1) / 256.0), rel=1e-15, abs=1e-300)
    with pytest.raises(ValueError):
        stats.optical_density(rgb.astype(np.float32))


def test_scatter_counts_only_stained_pixels():
    rng = np.random.default_rng(5)
    rgbs = [rng.integers(150, 256, (20, 30, 3), dtype=np.uint8) for _ in range(3)]
    m, n = stats.stain_scatter(rgbs)
    ref, count = np.zeros((3, 3)), 0
    for rgb in rgbs:
        for u in rgb.reshape(-1, 3):
            od = -np.log10((u.astype(np.float64) + 1) / 256)
            if od[0] + od[1] + od[2] > 0.15:
                ref += np.outer(od, od)
                count += 1
    assert 0 < n == count < 3 * 600                    # some pixels are too faint and left out
    assert np.allclose(m, ref, rtol=1e-12, atol=0)


def test_plane_fit_recovers_a_known_plane():
    rng = np.random.default_rng(11)
    truth = np.cross(H / np.linalg.norm(H), E / np.linalg.norm(E))
    truth /= np.linalg.norm(truth)
    plane = stats.fit_stain_plane([synthetic_he(rng), synthetic_he(rng, 60)])
    normal = np.asarray(plane["normal"])
    assert plane["min_od"] == 0.15 and plane["od_floor"] == 0.3 and plane["pixels"] > 20000
    assert abs(np.linalg.norm(normal) - 1) < 1e-12
    assert abs(normal @ truth) > 0.9999                  # within 0.8 degrees of the true normal
    k = int(np.argmax(np.abs(normal)))
    assert normal[k] > 0                                 # sign rule: the largest component is positive
    # another plane, another normal: the fit follows the data, not the textbook vectors
    dab = np.array([0.268, 0.570, 0.776])
    other = stats.fit_stain_plane([synthetic_he(rng, stains=(H, dab))])["normal"]
    t2 = np.cross(H, dab) / np.linalg.norm(np.cross(H, dab))
    assert abs(np.asarray(other) @ t2) > 0.9999 and abs(np.asarray(other) @ truth) < 0.99


def test_plane_fit_sign_rule_and_eigh():
    rng = np.random.default_rng(2)
    rgbs = [synthetic_he(rng, 40)]
    m, n = stats.stain_scatter(rgbs)
    v = np.linalg.eigh(m)[1][:, 0]
    v = v if v[np.argmax(np.abs(v))] > 0 else -v
    assert stats.fit_stain_plane(rgbs)["normal"] == [float(x) for x in v]


def test_plane_fit_refuses_too_few_pixels():
    img = np.full((40, 40, 3), 255, np.uint8)
    img[:31, :32] = (120, 60, 140)                       # 992 stained pixels
    with pytest.raises(ValueError, match="1000"):
        stats.fit_stain_plane([img])
    img[31, :8] = (120, 60, 140)                         # 1000
    assert stats.fit_stain_plane([img])["pixels"] == 1000


def test_residual_map_and_p99(test_patches):
    normal = np.cross(H, E) / np.linalg.norm(np.cross(H, E))
    rgb = np.asarray(Image.open(test_patches / "train" / "01_tumor.png").convert("RGB"))
    r = stats.stain_residual_map(rgb, normal)
    od = -np.log10((rgb.astype(np.float64) + 1) / 256)
    assert r.shape == rgb.shape[:2]
    oriented = normal if normal[2] >= 0 else -normal                  # towards blue absorption
    expected = np.maximum(od @ oriented, 0) / np.maximum(np.linalg.norm(od, axis=2), 0.3)
    assert np.allclose(r, expected, rtol=1e-12, atol=1e-15)
    assert np.array_equal(r, stats.stain_residual_map(rgb, -normal))  # either sign of the normal, one residual
    assert r.min() >= 0 and r.max() <= 1                               # a share of the pixel's density
    smooth = ndimage.gaussian_filter(r, sigma=4.0, truncate=3.0, mode="reflect")
    assert stats.stain_p99(rgb, normal) == pytest.approx(np.percentile(smooth, 99), rel=1e-9)
    # H&E mixes sit on the plane; a yellow dye (blue absorbed, as DAB or a yellow marker) is far off it
    he = synthetic_he(np.random.default_rng(0), 32)
    ink = np.zeros((32, 32, 3), np.uint8) + np.array([230, 200, 60], np.uint8)
    assert stats.stain_p99(he, normal) < 0.03 < 0.2 < stats.stain_p99(ink, normal)
    # one-sided: density tilted off the plane away from blue (a red-absorbing dye) does not count
    cyan = np.zeros((32, 32, 3), np.uint8) + np.array([60, 200, 230], np.uint8)
    assert stats.stain_p99(cyan, normal) < 0.03
    # relative: the same off-plane share reads the same, faint or dense (above the floor)
    dab = np.array([0.268, 0.570, 0.776])
    faint, dense = (np.clip(np.rint(256 * 10 ** -(k * dab) - 1), 0, 255).astype(np.uint8) for k in (0.6, 1.8))
    rf, rd = (stats.stain_residual_map(np.full((4, 4, 3), c, np.uint8), normal)[0, 0] for c in (faint, dense))
    assert rf == pytest.approx(rd, abs=0.02) and rf > 0.2
    with pytest.raises(ValueError):
        stats.stain_residual_map(rgb, [1.0, 0.0])


def test_patch_statistics_adds_stain_p99_with_a_normal(test_patches):
    rgb = np.asarray(Image.open(test_patches / "train" / "02_stroma.png").convert("RGB"))
    x = ((rgb.astype(np.float32) / 255 - 0.5) / 0.5).transpose(2, 0, 1)
    xh = np.clip(x * 0.9, -1, 1)
    normal = [0.3, -0.2, 0.9327379053088815]
    assert "stain_p99" not in stats.patch_statistics(x, xh, rgb)
    assert "stain_p99" not in stats.patch_statistics(x, xh, None, normal)
    s = stats.patch_statistics(x, xh, rgb, normal)
    assert tuple(s) == stats.STATISTIC_NAMES and len(s) == 8
    assert s["stain_p99"] == stats.stain_p99(rgb, normal)
