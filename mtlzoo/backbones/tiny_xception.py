"""`tiny_xception`: the face trunk of face-api's age + gender net.

face-api (npm `@vladmandic/face-api` 1.7.15, MIT; a fork of
justadudewhohacks' face-api.js) estimates age and gender from one shared
feature extractor, `TinyXception` (`src/xception/TinyXception.ts`): a small
Xception (Chollet, 2017) of depthwise-separable convolutions with residual
reduction blocks. This is that trunk, layer for layer and named as upstream
names its weights (`entry_flow/conv_in` -> `entry_flow_conv_in`), so the
converted weights load unchanged; the preset `faces_age_gender_faceapi`
puts the age and gender heads on it.

It takes 112x112 RGB face crops, raw pixels 0..255: its first layer does
what face-api does before the network, subtract the mean colour
`(122.782, 117.001, 104.298)` and divide by 255. Feature levels: P1
(56x56x32), P2 (28x28x64), P3 (14x14x128, after the middle flow), P4
(7x7x512, the output); there is no stride-32 level.

Reference:
    Chollet. Xception: Deep Learning with Depthwise Separable
    Convolutions. CVPR 2017. arXiv:1610.02357.
"""

import keras
from keras import layers

from mtlzoo.backbones.registry import register_backbone

INPUT_SIZE = 112
# face-api's `TinyXception.forwardInput`: normalize(x, meanRgb) / 255.
MEAN_RGB = (122.782, 117.001, 104.298)
MAIN_BLOCKS = 2


def _separable(x, filters, name):
    return layers.SeparableConv2D(filters, 3, padding="same", name=name)(x)


def _relu(x, name):
    return layers.ReLU(name=f"{name}_relu")(x)


def _reduction_block(x, filters, name, activate_input=True):
    """Two separable convs and a 3x3/2 max pool, plus a strided 1x1 conv
    of the block's input (before its ReLU)."""
    out = _relu(x, f"{name}_input") if activate_input else x
    out = _separable(out, filters, f"{name}_separable_conv0")
    out = _relu(out, f"{name}_separable_conv0")
    out = _separable(out, filters, f"{name}_separable_conv1")
    out = layers.MaxPooling2D(3, 2, padding="same", name=f"{name}_pool")(out)
    shortcut = layers.Conv2D(
        filters, 1, strides=2, padding="same", name=f"{name}_expansion_conv"
    )(x)
    return layers.Add(name=f"{name}_add")([out, shortcut])


def _main_block(x, name):
    """Three ReLU + separable conv steps and an identity shortcut."""
    out = x
    for i in range(3):
        tag = "input" if i == 0 else f"separable_conv{i - 1}"
        out = _relu(out, f"{name}_{tag}")
        out = _separable(out, x.shape[-1], f"{name}_separable_conv{i}")
    return layers.Add(name=f"{name}_add")([out, x])


@register_backbone(
    "tiny_xception",
    taps={
        "P1": "entry_flow_conv_in_relu",
        "P2": "entry_flow_reduction_block_0_add",
        "P3": f"middle_flow_main_block_{MAIN_BLOCKS - 1}_add",
        "P4": None,
    },
    default_preprocessing="none",
    min_input_size=INPUT_SIZE,
    native=True,
    aliases=("faceapi_tiny_xception",),
)
def tiny_xception(input_shape, weights=None):
    """face-api's TinyXception trunk: levels P1..P4, a 7x7x512 output;
    112x112x3 raw RGB input only (~420k parameters)."""
    if tuple(input_shape) != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(
            "The tiny_xception backbone takes 112x112 RGB face "
            f"crops. Received: input_shape={tuple(input_shape)!r}"
        )
    inputs = keras.Input(input_shape, name="tiny_xception_input")
    x = layers.Rescaling(
        1 / 255,
        offset=[-m / 255 for m in MEAN_RGB],
        name="tiny_xception_normalize",
    )(inputs)
    x = layers.Conv2D(
        32, 3, strides=2, padding="same", name="entry_flow_conv_in"
    )(x)
    x = _relu(x, "entry_flow_conv_in")
    x = _reduction_block(
        x, 64, "entry_flow_reduction_block_0", activate_input=False
    )
    x = _reduction_block(x, 128, "entry_flow_reduction_block_1")
    for i in range(MAIN_BLOCKS):
        x = _main_block(x, f"middle_flow_main_block_{i}")
    x = _reduction_block(x, 256, "exit_flow_reduction_block")
    x = _separable(x, 512, "exit_flow_separable_conv")
    x = _relu(x, "exit_flow_separable_conv")
    return keras.Model(inputs, x, name="tiny_xception")
