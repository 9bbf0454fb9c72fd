"""Checks on the committed golden fixtures (generation itself is not re-run here: too slow)."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from histoae_training import expected_state_dict_shapes, load_model, normalize_uint8_hwc

IO_BLOCKS = {
    "enc1": (4, 75, 75), "enc2": (4, 38, 38), "enc3": (4, 19, 19), "enc4": (4, 10, 10),
    "up1": (4, 20, 20), "fuse1": (4, 20, 20), "up2": (4, 40, 40), "fuse2": (4, 40, 40),
    "up3": (4, 80, 80), "fuse3": (4, 80, 80), "up4": (4, 160, 160), "head": (3, 160, 160),
}


def _need(path):
    if not path.exists():
        pytest.skip(f"{path} missing: run training/scripts/make_parity_fixtures.py")
    return path


@pytest.fixture(scope="module")
def io(model_fixtures):
    return load_file(str(_need(model_fixtures / "parity_io.safetensors")))


@pytest.fixture(scope="module")
def ref_model(model_fixtures):
    return load_model(_need(model_fixtures / "parity_weights_f16.safetensors"))


def test_weights_file_contract(model_fixtures):
    path = _need(model_fixtures / "parity_weights_f16.safetensors")
    expected = expected_state_dict_shapes()
    with safe_open(str(path), framework="pt") as f:
        assert set(f.keys()) == set(expected)
        for k in f.keys():
            t = f.get_tensor(k)
            assert tuple(t.shape) == expected[k], k
            assert t.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float16), k


def test_io_keys_and_shapes(io):
    expected = {"input": (2, 3, 150, 150), "output": (2, 3, 150, 150), "output_batch1": (1, 3, 150, 150),
                **IO_BLOCKS}
    assert {k: tuple(v.shape) for k, v in io.items()} == expected
    assert all(v.dtype == torch.float32 for v in io.values())


def test_inputs_are_the_pngs(io, model_fixtures):
    for i in range(2):
        img = Image.open(_need(model_fixtures / f"patch{i}.png"))
        assert img.mode == "RGB" and img.size == (150, 150)
        assert "gamma" not in img.info and "icc_profile" not in img.info
        assert torch.equal(io["input"][i], normalize_uint8_hwc(np.asarray(img)))


def test_output_matches_reference_model(io, ref_model):
    with torch.inference_mode():
        y = ref_model(io["input"])
        y1 = ref_model(io["input"][-1:])
    assert (y - io["output"]).abs().max().item() <= 1e-5
    assert (y1 - io["output_batch1"]).abs().max().item() <= 1e-5
    # Not saturated: varied values well inside (-1, 1).
    assert io["output"].std().item() > 0.1
    assert (io["output"].abs() > 0.99).float().mean().item() < 0.01


def test_blocks_match_reference_model(io, ref_model):
    with torch.inference_mode():
        blocks = ref_model.forward_blocks(io["input"][0:1])
    for k, shape in IO_BLOCKS.items():
        got = blocks[k][0, : shape[0]]
        assert (got - io[k]).abs().max().item() <= 1e-5, k


def test_bn_statistics_randomized(model_fixtures):
    sd = load_file(str(_need(model_fixtures / "parity_weights_f16.safetensors")))
    for name in ("enc1", "enc4", "fuse2"):
        assert sd[f"{name}.bn.running_mean"].float().abs().max() > 0.05
        var = sd[f"{name}.bn.running_var"].float()
        assert var.min() >= 0.49 and var.max() <= 2.01 and var.std() > 0.1
        assert sd[f"{name}.bn.weight"].float().std() > 0.1


def test_kernel_fixture_keys(kernel_fixtures):
    t = load_file(str(_need(kernel_fixtures / "kernels.safetensors")))
    assert all(v.dtype == torch.float32 for v in t.values())
    cases = {k.split(".")[0] for k in t}
    assert cases == {"conv_s1", "conv_s2", "conv_s2p0", "conv_bn", "convT", "resize_up", "resize_down",
                     "resize_odd", "resize_160", "resize_75", "gelu", "attention"}
    assert tuple(t["convT.output"].shape) == (2, 4, 10, 14)
    assert tuple(t["resize_160.output"].shape) == (1, 1, 150, 150)
    assert t["conv_bn.bn_var"].min() > 0
    torch.testing.assert_close(t["gelu.output"], torch.nn.functional.gelu(t["gelu.input"]), rtol=0, atol=0)
