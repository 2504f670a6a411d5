"""Layers shared by the native CNNs (`tiny`, `lenet`, `resnet_small`)."""

from keras import layers

# Keras' default 0.99 lets the moving statistics lag far behind the weights
# over the few hundred steps a small model trains here (train accuracy 0.86
# vs 0.21 in inference mode after 94 steps); 0.9 follows them.
BN_MOMENTUM = 0.9


def conv_bn_relu(x, filters, kernel_size, strides, prefix):
    """Conv (no bias) -> BatchNorm -> ReLU, named `{prefix}_conv|bn|relu`."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        name=f"{prefix}_conv",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def residual_block(x, filters, strides, prefix):
    """A basic residual block (two 3x3 convs); output `{prefix}_out`."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters,
            1,
            strides=strides,
            use_bias=False,
            name=f"{prefix}_shortcut_conv",
        )(x)
        shortcut = layers.BatchNormalization(
            momentum=BN_MOMENTUM, name=f"{prefix}_shortcut_bn"
        )(shortcut)
    x = conv_bn_relu(x, filters, 3, strides, f"{prefix}_1")
    x = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, name=f"{prefix}_2_conv"
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_2_bn")(
        x
    )
    x = layers.Add(name=f"{prefix}_add")([shortcut, x])
    return layers.ReLU(name=f"{prefix}_out")(x)
