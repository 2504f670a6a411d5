"""`lenet`: a LeNet-style native CNN for small greyscale images."""

import keras
from keras import layers

from mtlzoo.backbones._blocks import conv_bn_relu
from mtlzoo.backbones.registry import register_backbone
from mtlzoo.backbones.stages import LEVELS


@register_backbone(
    "lenet",
    taps=[f"{level.lower()}_relu" for level in LEVELS],
    min_input_size=16,
    native=True,
)
def lenet(input_shape, weights=None):
    """LeNet-style: a stem conv, then per level 2x2 max pool and a conv."""
    inputs = keras.Input(input_shape, name="lenet_input")
    x = conv_bn_relu(inputs, 16, 5, 1, "stem")
    for level, filters in zip(LEVELS, (32, 64, 96, 128, 128)):
        prefix = level.lower()
        x = layers.MaxPooling2D(2, padding="same", name=f"{prefix}_pool")(x)
        x = conv_bn_relu(x, filters, 5 if level < "P3" else 3, 1, prefix)
    return keras.Model(inputs, x, name="lenet")
