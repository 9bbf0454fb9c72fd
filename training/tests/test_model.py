import numpy as np
import pytest
import torch
import torch.nn.functional as F

from histoae_training import (
    BLOCK_NAMES,
    CNNAutoencoder3,
    ChannelAttention,
    count_parameters,
    denormalize_to_uint8_hwc,
    expected_state_dict_shapes,
    load_model,
    normalize_uint8_hwc,
    save_state_dict,
)

EXPECTED_BLOCK_SHAPES = {
    "enc1": (64, 75, 75), "enc2": (128, 38, 38), "enc3": (256, 19, 19), "enc4": (256, 10, 10),
    "up1": (256, 20, 20), "fuse1": (256, 20, 20), "up2": (128, 40, 40), "fuse2": (128, 40, 40),
    "up3": (64, 80, 80), "fuse3": (64, 80, 80), "up4": (32, 160, 160), "head": (3, 160, 160),
    "output": (3, 150, 150),
}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CNNAutoencoder3().eval()


def test_parameter_count(model):
    assert count_parameters(model) == 3_500_931
    assert sum(p.numel() for p in model.parameters()) == 3_500_931


def test_state_dict_contract(model):
    sd = model.state_dict()
    expected = expected_state_dict_shapes()
    assert set(sd) == set(expected)
    assert {k: tuple(v.shape) for k, v in sd.items()} == dict(expected)
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            assert v.dtype == torch.int64
        else:
            assert v.dtype == torch.float32
    # Spot-check the literal names the Swift engine reads.
    for k in ("enc1.conv.weight", "enc1.attn.mlp.0.weight", "enc3.attn.mlp.2.weight", "enc4.bn.running_var",
              "up1.weight", "up4.bias", "fuse1.conv.weight", "fuse3.bn.num_batches_tracked", "head.weight"):
        assert k in sd
    assert tuple(sd["enc3.attn.mlp.0.weight"].shape) == (16, 256, 1, 1)
    assert tuple(sd["up2.weight"].shape) == (256, 128, 3, 3)
    assert not any(k.startswith("enc4.attn") for k in sd)
    # Expected parameter total from the contract alone (buffers excluded).
    n = sum(int(np.prod(s)) for k, s in expected.items()
            if not (k.endswith("running_mean") or k.endswith("running_var") or k.endswith("num_batches_tracked")))
    assert n == 3_500_931


def test_module_hyperparameters(model):
    for name in ("enc1", "enc2", "enc3", "enc4"):
        conv = getattr(model, name).conv
        assert (conv.stride, conv.padding, conv.kernel_size) == ((2, 2), (1, 1), (3, 3))
        assert getattr(model, name).bn.eps == 1e-5
        assert getattr(model, name).act.approximate == "none"
    for name in ("fuse1", "fuse2", "fuse3"):
        conv = getattr(model, name).conv
        assert (conv.stride, conv.padding) == ((1, 1), (1, 1))
    for name in ("up1", "up2", "up3", "up4"):
        up = getattr(model, name)
        assert (up.stride, up.padding, up.output_padding) == ((2, 2), (1, 1), (1, 1))
    assert isinstance(model.enc1.drop, torch.nn.Identity)
    assert model.enc2.drop.p == pytest.approx(0.1) and model.enc3.drop.p == pytest.approx(0.1)
    assert isinstance(model.enc4.drop, torch.nn.Identity) and model.enc4.attn is None


def test_forward_shape(model):
    x = torch.rand(2, 3, 150, 150) * 2 - 1
    with torch.inference_mode():
        y = model(x)
    assert y.shape == (2, 3, 150, 150)
    assert y.dtype == torch.float32
    assert torch.all(y.abs() <= 1)


def test_forward_blocks(model):
    x = torch.rand(2, 3, 150, 150) * 2 - 1
    with torch.inference_mode():
        blocks = model.forward_blocks(x)
        y = model(x)
    assert tuple(blocks) == BLOCK_NAMES
    for k, shape in EXPECTED_BLOCK_SHAPES.items():
        assert tuple(blocks[k].shape) == (2, *shape), k
    assert torch.equal(blocks["output"], y)
    assert torch.equal(blocks["output"], F.interpolate(blocks["head"], size=(150, 150), mode="bilinear",
                                                        align_corners=False))


def test_channel_attention_formula():
    torch.manual_seed(1)
    att = ChannelAttention(32)
    x = torch.randn(2, 32, 5, 6)
    w1, w2 = att.mlp[0].weight[:, :, 0, 0], att.mlp[2].weight[:, :, 0, 0]

    def mlp(z):  # z: (N, C)
        return torch.relu(z @ w1.T) @ w2.T

    s = torch.sigmoid(torch.sigmoid(mlp(x.mean((2, 3)))) + torch.sigmoid(mlp(x.amax((2, 3)))))
    torch.testing.assert_close(att(x), x * s[:, :, None, None])


def test_normalization():
    img = np.array([[[0, 128, 255], [1, 2, 3]]], dtype=np.uint8)  # (1, 2, 3) HWC
    y = normalize_uint8_hwc(img)
    assert y.shape == (3, 1, 2) and y.dtype == torch.float32
    assert y[0, 0, 0].item() == -1.0 and y[2, 0, 0].item() == 1.0
    assert y[1, 0, 0].item() == pytest.approx(128 / 255 * 2 - 1, abs=1e-7)
    assert np.array_equal(denormalize_to_uint8_hwc(y), img)


def test_safetensors_roundtrip(tmp_path, model):
    p16 = tmp_path / "m16.safetensors"
    p32 = tmp_path / "m32.safetensors"
    save_state_dict(model.state_dict(), p16, dtype="float16")
    save_state_dict(model.state_dict(), p32)
    from safetensors.torch import load_file
    raw = load_file(str(p16))
    assert raw["enc1.conv.weight"].dtype == torch.float16
    assert raw["enc1.bn.num_batches_tracked"].dtype == torch.int64
    m32 = load_model(p32)
    for k, v in model.state_dict().items():
        assert torch.equal(m32.state_dict()[k], v), k
    m16 = load_model(p16)
    w = m16.state_dict()["fuse1.conv.weight"]
    assert w.dtype == torch.float32
    assert torch.equal(w, model.state_dict()["fuse1.conv.weight"].half().float())
