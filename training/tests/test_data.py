"""Data pipeline: normalization, patch folders, spatial split, slides, tissue/ink filter, augmentation."""

import numpy as np
import pytest
from PIL import Image

from histoae_training import normalize_uint8_hwc
from histoae_training.augment import AugmentConfig, augment, dihedral, stain_jitter
from histoae_training.data import CropDataset, PatchSource, build_source, to_tensor
from histoae_training.slides import Region, split_area
from histoae_training.tissue import TissueFilter, ink_fraction


def _tile(test_patches, name="01_tumor.png"):
    return np.asarray(Image.open(test_patches / "train" / name).convert("RGB"))


def test_to_tensor_is_the_reference_normalization(test_patches):
    imgs = np.stack([_tile(test_patches), _tile(test_patches, "04_lympho.png")])
    t = to_tensor(imgs)
    assert t.shape == (2, 3, 150, 150)
    for i in range(2):
        assert np.array_equal(t[i].numpy(), normalize_uint8_hwc(imgs[i]).numpy())


def test_patch_source_filters_blank_glass_and_splits(test_patches):
    src = PatchSource("t", test_patches, val_fraction=0.0)
    assert src.rejected == ["train/08_empty.png"]
    assert len(src.split["train"]) == 6 and not src.split["val"]
    every = PatchSource("t", test_patches, val_fraction=1.0)
    assert len(every.split["val"]) == 6 and not every.split["train"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        c = src.sample(rng)
        assert c.image.shape == (150, 150, 3) and c.image.dtype == np.uint8
        assert "08_empty" not in c.where
    assert len(every.grid("val")) == 6


@pytest.mark.parametrize("side", ["bottom", "top", "left", "right"])
def test_split_areas_never_overlap(side):
    size, r = (1000, 900), 150
    region = Region(side, 0.2)
    tx0, ty0, tx1, ty1 = split_area(size, r, "train", region)
    vx0, vy0, vx1, vy1 = split_area(size, r, "val", region)
    train = np.zeros(size[::-1], bool)
    val = np.zeros(size[::-1], bool)
    train[ty0:ty1 + r, tx0:tx1 + r] = True   # union of all possible train crops
    val[vy0:vy1 + r, vx0:vx1 + r] = True
    assert not (train & val).any()
    assert val.sum() == 0.2 * size[0] * size[1]          # the validation part is exactly 20 %
    assert val.sum() + train.sum() == size[0] * size[1]  # and training the rest
    assert split_area((1000, 600), r, "val", region) is None or side in ("left", "right")  # 120 px: no room
    assert split_area(size, r, "val", Region(side, 0.0)) is None
    assert split_area(size, r, "train", Region(side, 1.0)) is None
    assert split_area((100, 100), r, "all", region) is None


def test_ink_filter_rejects_green_marking_ink(test_patches):
    img = _tile(test_patches).copy()
    filt = TissueFilter()
    assert filt.accepts(img) and ink_fraction(img) == 0.0
    inked = img.copy()
    inked[10:16, :, :] = (40, 150, 140)  # a teal stroke, 4 % of the pixels
    assert ink_fraction(inked) == pytest.approx(0.04)
    assert not filt.accepts(inked)
    assert not filt.accepts(_tile(test_patches, "08_empty.png"))


def test_histolab_pen_marks_rejected(shared_data):
    filt = TissueFilter()
    for name in ("medium-nuclei-score-green-pen-level1.png", "no-tissue-green-pen.png"):
        a = np.asarray(Image.open(shared_data / "tiles" / "histolab" / name).convert("RGB"))
        assert not filt.accepts(a[:150, :150]) or not filt.accepts(a[150:300, 150:300]), name
        assert ink_fraction(a) > 0.1


def test_augmentation(test_patches):
    img = _tile(test_patches)
    outs = {dihedral(img, k, f).tobytes() for k in range(4) for f in (False, True)}
    assert len(outs) == 8
    assert np.array_equal(stain_jitter(img, np.ones(3), np.zeros(3)), img)
    rng = np.random.default_rng(0)
    a = augment(img, rng, AugmentConfig())
    assert a.dtype == np.uint8 and a.shape == img.shape
    jittered = stain_jitter(img, np.array([1.05, 0.95, 1.0]), np.array([0.01, -0.01, 0.0]))
    d = np.abs(jittered.astype(int) - img.astype(int))
    assert 0 < d.mean() < 10  # mild
    off = augment(img, np.random.default_rng(1), AugmentConfig(False, False, 0.0, 0.0))
    assert np.array_equal(off, img)


def test_epoch_batches_deterministic(test_patches):
    src = build_source({"kind": "patches", "path": "train", "name": "t"}, test_patches)
    ds = CropDataset([src])
    a = [b for b, _ in ds.epoch_batches(seed=3, epoch=2, n=10, batch_size=4)]
    b = [b for b, _ in ds.epoch_batches(seed=3, epoch=2, n=10, batch_size=4)]
    c = [b for b, _ in ds.epoch_batches(seed=3, epoch=3, n=10, batch_size=4)]
    assert [x.shape[0] for x in a] == [4, 4, 2]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_slides_split_and_scale(shared_data):
    filt = TissueFilter()
    cmu = build_source({"kind": "slide", "path": "slides/cmu-1-small-region.svs", "mpp": 0.5,
                        "val_region": {"side": "bottom", "fraction": 0.2}}, shared_data, default_filter=filt)
    s = cmu.slide
    assert s.level == 0 and s.mpp == pytest.approx(0.499) and s.read_size == 150
    cut = round(s.size[1] * 0.8)
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = cmu.sample(rng)
        x, y = map(int, c.where.split("@")[1].split(","))
        assert y + 150 <= cut
        assert filt.accepts(c.image)
    val = cmu.grid("val", 75, filt)
    assert len(val) > 20
    for c in val:
        assert int(c.where.split(",")[1]) >= cut
    with pytest.raises(ValueError):  # no MPP tag: a µm/px cannot be honoured
        build_source({"kind": "slide", "path": "slides/tcga-cr-7395-01a-01-ts1.svs", "mpp": 0.5}, shared_data)
