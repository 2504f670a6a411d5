"""`tiny`: the smallest native CNN, for tests and quick experiments."""

import keras

from mtlzoo.backbones._blocks import conv_bn_relu
from mtlzoo.backbones.registry import register_backbone
from mtlzoo.backbones.stages import LEVELS


@register_backbone(
    "tiny",
    taps=[f"{level.lower()}_relu" for level in LEVELS],
    min_input_size=16,
    native=True,
)
def tiny(input_shape, weights=None):
    """4-16 channels, one strided conv per level (~2.4k parameters)."""
    inputs = keras.Input(input_shape, name="tiny_input")
    x = inputs
    for level, filters in zip(LEVELS, (4, 4, 8, 8, 16)):
        x = conv_bn_relu(x, filters, 3, 2, level.lower())
    return keras.Model(inputs, x, name="tiny")
