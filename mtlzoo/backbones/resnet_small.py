"""`resnet_small`: a small native ResNet (two basic blocks per level)."""

import keras

from mtlzoo.backbones._blocks import conv_bn_relu
from mtlzoo.backbones._blocks import residual_block
from mtlzoo.backbones.registry import register_backbone
from mtlzoo.backbones.stages import LEVELS


@register_backbone(
    "resnet_small",
    taps=[f"{level.lower()}_block2_out" for level in LEVELS],
    min_input_size=16,
    native=True,
)
def resnet_small(input_shape, weights=None):
    """Stem, then two basic residual blocks per level, the first strided."""
    inputs = keras.Input(input_shape, name="resnet_small_input")
    x = conv_bn_relu(inputs, 16, 3, 1, "stem")
    for level, filters in zip(LEVELS, (32, 48, 64, 96, 128)):
        x = residual_block(x, filters, 2, f"{level.lower()}_block1")
        x = residual_block(x, filters, 1, f"{level.lower()}_block2")
    return keras.Model(inputs, x, name="resnet_small")
