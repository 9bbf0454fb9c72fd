"""Reference PyTorch implementation of CNNAutoencoder_3 (described in docs/model.md, §8-§13).

This is THE single definition used for training, golden fixtures, ONNX export and benchmarks.
The state-dict names are a contract with the Swift engine (see ``expected_state_dict_shapes``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Final output size (docs/model.md §11, D4).
OUTPUT_SIZE = (150, 150)

#: Keys returned by :meth:`CNNAutoencoder3.forward_blocks`, in execution order.
BLOCK_NAMES = (
    "enc1", "enc2", "enc3", "enc4",
    "up1", "fuse1", "up2", "fuse2", "up3", "fuse3", "up4",
    "head", "output",
)

BN_EPS = 1e-5
ATTENTION_REDUCTION = 16


class ChannelAttention(nn.Module):
    """SE-style channel attention, docs/model.md §8.

    a = sigmoid(mlp(avgpool(x))), m = sigmoid(mlp(maxpool(x))), out = x * sigmoid(a + m).
    The MLP is shared between both branches; names ``mlp.0.weight`` (C/r, C, 1, 1), ``mlp.2.weight`` (C, C/r, 1, 1).
    """

    def __init__(self, channels: int, reduction: int = ATTENTION_REDUCTION):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"channels {channels} too small for reduction {reduction}")
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1, bias=False),
            nn.ReLU(inplace=False),
            nn.Conv2d(hidden, channels, kernel_size=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)))
        m = torch.sigmoid(self.mlp(F.adaptive_max_pool2d(x, 1)))
        return x * torch.sigmoid(a + m)


class ConvBlock(nn.Module):
    """Conv2d(k=3, p=1, bias) -> BatchNorm2d -> GELU(exact) [-> Dropout] [-> ChannelAttention].

    Used for the encoder blocks (stride 2) and the decoder fuse blocks (stride 1).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float = 0.0, attention: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.act = nn.GELU(approximate="none")
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.attn = ChannelAttention(c_out) if attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.bn(self.conv(x))))
        if self.attn is not None:
            x = self.attn(x)
        return x



def _up(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, kernel_size=3, stride=2, padding=1, output_padding=1, bias=True)


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class CNNAutoencoder3(nn.Module):
    """CNNAutoencoder_3: 3x150x150 in [-1, 1] -> 3x150x150 in [-1, 1]. 3,500,931 parameters."""

    def __init__(self, dropout: float = 0.1):
        super().__init__()
        # Encoder (docs/model.md §10)
        self.enc1 = ConvBlock(3, 64, stride=2, dropout=0.0, attention=True)
        self.enc2 = ConvBlock(64, 128, stride=2, dropout=dropout, attention=True)
        self.enc3 = ConvBlock(128, 256, stride=2, dropout=dropout, attention=True)
        self.enc4 = ConvBlock(256, 256, stride=2, dropout=0.0, attention=False)
        # Decoder (docs/model.md §11)
        self.up1 = _up(256, 256)
        self.fuse1 = ConvBlock(512, 256, stride=1)
        self.up2 = _up(256, 128)
        self.fuse2 = ConvBlock(256, 128, stride=1)
        self.up3 = _up(128, 64)
        self.fuse3 = ConvBlock(128, 64, stride=1)
        self.up4 = _up(64, 32)
        self.head = nn.Conv2d(32, 3, kernel_size=3, stride=1, padding=1, bias=True)

    def _run(self, x: torch.Tensor, keep: bool):
        out = OrderedDict() if keep else None
        f1 = self.enc1(x)
        f2 = self.enc2(f1)
        f3 = self.enc3(f2)
        z = self.enc4(f3)
        u1 = self.up1(z)
        d1 = self.fuse1(torch.cat([u1, _resize(f3, u1.shape[-2:])], dim=1))
        u2 = self.up2(d1)
        d2 = self.fuse2(torch.cat([u2, _resize(f2, u2.shape[-2:])], dim=1))
        u3 = self.up3(d2)
        d3 = self.fuse3(torch.cat([u3, _resize(f1, u3.shape[-2:])], dim=1))
        u4 = self.up4(d3)
        r = torch.tanh(self.head(u4))
        y = _resize(r, OUTPUT_SIZE)
        if keep:
            for k, v in zip(BLOCK_NAMES, (f1, f2, f3, z, u1, d1, u2, d2, u3, d3, u4, r, y)):
                out[k] = v
            return out
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, keep=False)

    def forward_blocks(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Every intermediate: enc1..enc4 (after attention where present), up1..up4 (raw ConvTranspose output),
        fuse1..fuse3, head (after tanh, 160x160) and output (150x150)."""
        return self._run(x, keep=True)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def expected_state_dict_shapes() -> "OrderedDict[str, tuple]":
    """The state-dict contract with the Swift engine, written out independently of the module code.

    Includes the BatchNorm ``num_batches_tracked`` buffers (shape ``()``, int64).
    """
    d: "OrderedDict[str, tuple]" = OrderedDict()

    def conv_bn(name, cin, cout):
        d[f"{name}.conv.weight"] = (cout, cin, 3, 3)
        d[f"{name}.conv.bias"] = (cout,)
        d[f"{name}.bn.weight"] = (cout,)
        d[f"{name}.bn.bias"] = (cout,)
        d[f"{name}.bn.running_mean"] = (cout,)
        d[f"{name}.bn.running_var"] = (cout,)
        d[f"{name}.bn.num_batches_tracked"] = ()

    def attn(name, c):
        d[f"{name}.attn.mlp.0.weight"] = (c // 16, c, 1, 1)
        d[f"{name}.attn.mlp.2.weight"] = (c, c // 16, 1, 1)

    for name, cin, cout, has_attn in (("enc1", 3, 64, True), ("enc2", 64, 128, True),
                                      ("enc3", 128, 256, True), ("enc4", 256, 256, False)):
        conv_bn(name, cin, cout)
        if has_attn:
            attn(name, cout)
    for up, fuse, cin, cout in (("up1", "fuse1", 256, 256), ("up2", "fuse2", 256, 128),
                                ("up3", "fuse3", 128, 64)):
        d[f"{up}.weight"] = (cin, cout, 3, 3)
        d[f"{up}.bias"] = (cout,)
        conv_bn(fuse, 2 * cout, cout)
    d["up4.weight"] = (64, 32, 3, 3)
    d["up4.bias"] = (32,)
    d["head.weight"] = (3, 32, 3, 3)
    d["head.bias"] = (3,)
    return d
