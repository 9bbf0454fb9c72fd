"""Python/PyTorch side of HistoAE: the reference CNNAutoencoder_3 and its helpers."""

from .model import (
    ChannelAttention,
    CNNAutoencoder3,
    ConvBlock,
    BLOCK_NAMES,
    OUTPUT_SIZE,
    count_parameters,
    expected_state_dict_shapes,
)
from .preprocess import normalize_uint8_hwc, denormalize_to_uint8_hwc
from .safetensors_io import save_state_dict, load_state_dict, load_model

__all__ = [
    "ChannelAttention",
    "CNNAutoencoder3",
    "ConvBlock",
    "BLOCK_NAMES",
    "OUTPUT_SIZE",
    "count_parameters",
    "expected_state_dict_shapes",
    "normalize_uint8_hwc",
    "denormalize_to_uint8_hwc",
    "save_state_dict",
    "load_state_dict",
    "load_model",
]
