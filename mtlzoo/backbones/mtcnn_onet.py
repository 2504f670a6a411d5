"""`mtcnn_onet`: the shared trunk of MTCNN's output network (O-Net).

The O-Net of MTCNN (Zhang et al., 2016) scores a 48x48 face crop, refines
its box and places five landmarks, all from one 256-unit feature vector.
This is that trunk, layer for layer as in the PyPI package `mtcnn` 1.0.0
(`mtcnn/network/onet.py`, MIT), so its weights load unchanged; the preset
`faces_mtcnn_onet` puts the three heads on it. Its first layer maps raw
pixels (RGB, 0..255) to the network's `(x - 127.5) / 128`.

Reference:
    Zhang, Zhang, Li, Qiao. Joint Face Detection and Alignment using
    Multi-task Cascaded Convolutional Networks. IEEE Signal Processing
    Letters 23(10), 2016. arXiv:1604.02878.
"""

import keras
from keras import layers

from mtlzoo.backbones.registry import register_backbone

INPUT_SIZE = 48


def _conv_prelu(x, filters, kernel, index):
    x = layers.Conv2D(filters, kernel, name=f"conv{index}")(x)
    return layers.PReLU(shared_axes=[1, 2], name=f"prelu{index}")(x)


@register_backbone(
    "mtcnn_onet",
    taps={
        "P1": "maxpooling1",
        "P2": "maxpooling2",
        "P3": "maxpooling3",
        "P4": "prelu4",
        "P5": None,
    },
    default_preprocessing="none",
    min_input_size=INPUT_SIZE,
    native=True,
)
def mtcnn_onet(input_shape, weights=None):
    """The O-Net trunk: 4 conv + PReLU blocks, then a 256-unit PReLU
    vector (level P5); 48x48x3 raw RGB input only (~384k parameters)."""
    if tuple(input_shape) != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(
            "The mtcnn_onet backbone takes 48x48 RGB crops. "
            f"Received: input_shape={tuple(input_shape)!r}"
        )
    inputs = keras.Input(input_shape, name="onet_input")
    x = layers.Rescaling(1 / 128, offset=-127.5 / 128, name="onet_scale")(
        inputs
    )
    x = _conv_prelu(x, 32, 3, 1)
    x = layers.MaxPooling2D(3, 2, padding="same", name="maxpooling1")(x)
    x = _conv_prelu(x, 64, 3, 2)
    x = layers.MaxPooling2D(3, 2, padding="valid", name="maxpooling2")(x)
    x = _conv_prelu(x, 64, 3, 3)
    x = layers.MaxPooling2D(2, 2, padding="same", name="maxpooling3")(x)
    x = _conv_prelu(x, 128, 2, 4)
    # The weights come from Caffe, which flattens (C, W, H): swap H and W.
    x = layers.Permute((2, 1, 3), name="permute")(x)
    x = layers.Flatten(name="flatten4")(x)
    x = layers.Dense(256, name="fc5")(x)
    x = layers.PReLU(name="prelu5")(x)
    return keras.Model(inputs, x, name="mtcnn_onet")
