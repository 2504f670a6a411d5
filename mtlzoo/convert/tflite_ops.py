"""TFLite builtin ops as standard Keras layers, one function per op.

Each function takes the `_Builder` (which holds the Keras tensors and the
constants of the graph, and names layers) and a `TfliteOp`, and returns the
op's outputs (a Keras tensor or a numpy constant). Only standard
`keras.layers` are used, so a converted model saves as `.keras` and loads
without custom objects.
"""

import numpy as np
from keras import layers

# ActivationFunctionType of the TFLite schema -> Keras activation.
_FUSED = {0: None, 1: "relu", 3: "relu6", 4: "tanh"}


def fused_activation(op):
    """The Keras activation of an op's fused activation function."""
    code = op.options.get("FusedActivationFunction", 0)
    if code not in _FUSED:
        raise ValueError(
            f"Op {op.index} ({op.type}) has an unsupported fused activation. "
            f"Received: FusedActivationFunction={code}"
        )
    return _FUSED[code]


def _padding(op):
    return "same" if op.options.get("Padding", 0) == 0 else "valid"


def _activate(builder, op, x):
    activation = fused_activation(op)
    if activation is None:
        return x
    return layers.Activation(activation, name=builder.name(op, activation))(x)


def _conv_options(builder, op, bias):
    """Keyword arguments a TFLite (depthwise) convolution's options give
    its Keras layer."""
    return {
        "strides": (op.options["StrideH"], op.options["StrideW"]),
        "padding": _padding(op),
        "dilation_rate": (
            op.options.get("DilationHFactor", 1),
            op.options.get("DilationWFactor", 1),
        ),
        "activation": fused_activation(op),
        "use_bias": bias is not None,
        "name": builder.name(op),
    }


def conv_2d(builder, op):
    x, kernel, bias = builder.inputs(op, 3)
    kernel = np.transpose(kernel, (1, 2, 3, 0))  # OHWI -> HWIO
    layer = layers.Conv2D(
        kernel.shape[-1],
        kernel.shape[:2],
        **_conv_options(builder, op, bias),
    )
    return builder.apply(layer, x, [kernel] + _bias(bias))


def depthwise_conv_2d(builder, op):
    x, kernel, bias = builder.inputs(op, 3)
    channels = x.shape[-1]
    multiplier = kernel.shape[-1] // channels
    # (1, H, W, C * M) -> (H, W, C, M)
    kernel = kernel.reshape(kernel.shape[1:3] + (channels, multiplier))
    layer = layers.DepthwiseConv2D(
        kernel.shape[:2],
        depth_multiplier=multiplier,
        **_conv_options(builder, op, bias),
    )
    return builder.apply(layer, x, [kernel] + _bias(bias))


def fully_connected(builder, op):
    x, kernel, bias = builder.inputs(op, 3)
    if len(x.shape) > 2:
        x = layers.Flatten(name=builder.name(op, "flatten"))(x)
    layer = layers.Dense(
        kernel.shape[0],
        activation=fused_activation(op),
        use_bias=bias is not None,
        name=builder.name(op),
    )
    return builder.apply(layer, x, [kernel.T] + _bias(bias))


def _bias(bias):
    return [] if bias is None else [bias]


def _pool(cls):
    def pool(builder, op):
        (x,) = builder.inputs(op, 1)
        y = cls(
            (op.options["FilterHeight"], op.options["FilterWidth"]),
            strides=(op.options["StrideH"], op.options["StrideW"]),
            padding=_padding(op),
            name=builder.name(op),
        )(x)
        return _activate(builder, op, y)

    return pool


def pad(builder, op):
    x, paddings = builder.inputs(op, 2)
    paddings = np.asarray(paddings).astype(int).tolist()
    if any(paddings[0]) or len(paddings) != 4:
        raise ValueError(
            f"PAD op {op.index}: only height, width and channel padding of "
            f"4-D tensors converts. Received: paddings={paddings}"
        )
    (_, (top, bottom), (left, right), (front, back)) = paddings
    if top or bottom or left or right:
        x = layers.ZeroPadding2D(
            ((top, bottom), (left, right)), name=builder.name(op)
        )(x)
    if front or back:
        # Zero channels: pad the channel axis of a (H * W, C, 1) view.
        height, width, channels = x.shape[1:]
        x = layers.Reshape(
            (height * width, channels, 1), name=builder.name(op, "flat")
        )(x)
        x = layers.ZeroPadding2D(
            ((0, 0), (front, back)), name=builder.name(op, "channels")
        )(x)
        x = layers.Reshape(
            (height, width, channels + front + back),
            name=builder.name(op, "unflat"),
        )(x)
    return x


def _binary(merge_cls, constant_op):
    def binary(builder, op):
        a, b = builder.inputs(op, 2)
        consts = [isinstance(v, np.ndarray) for v in (a, b)]
        if all(consts) and fused_activation(op) is None:
            return constant_op(a, b)
        if any(consts):
            x, c = (b, a) if consts[0] else (a, b)
            _check_channel_constant(op, x, c)
            scale, offset = (c, 0.0) if constant_op is np.multiply else (1.0, c)
            y = layers.Rescaling(
                _json_number(scale), _json_number(offset), name=builder.name(op)
            )(x)
        else:
            y = merge_cls(name=builder.name(op))([a, b])
        return _activate(builder, op, y)

    return binary


def _check_channel_constant(op, x, c):
    c = np.asarray(c)
    if isinstance(x, np.ndarray) or not (
        c.size == 1 or (c.size == c.shape[-1] == x.shape[-1])
    ):
        raise ValueError(
            f"{op.type} op {op.index}: a constant operand converts when it "
            "is a scalar or one value per channel. "
            f"Received: constant shape={c.shape}"
        )


def _json_number(value):
    value = np.asarray(value, "float32")
    if value.size == 1:
        return float(value.reshape(()))
    return value.reshape(value.shape[-1:]).tolist()


def _activation(name):
    def activation(builder, op):
        (x,) = builder.inputs(op, 1)
        return layers.Activation(name, name=builder.name(op))(x)

    return activation


def prelu(builder, op):
    x, alpha = builder.inputs(op, 2)
    rank = len(x.shape)
    alpha = np.asarray(alpha, "float32")
    shared = [
        axis
        for axis in range(1, rank)
        if alpha.ndim < rank - axis or alpha.shape[axis - rank] == 1
    ]
    shape = tuple(
        1 if axis in shared else x.shape[axis] for axis in range(1, rank)
    )
    layer = layers.PReLU(shared_axes=shared or None, name=builder.name(op))
    return builder.apply(layer, x, [np.broadcast_to(alpha, shape)])


def softmax(builder, op):
    (x,) = builder.inputs(op, 1)
    if op.options.get("Beta", 1.0) != 1.0:
        raise ValueError(
            f"SOFTMAX op {op.index}: only beta = 1 converts. "
            f"Received: beta={op.options['Beta']}"
        )
    return layers.Softmax(name=builder.name(op))(x)


def resize_bilinear(builder, op):
    x, size = builder.inputs(op, 2)
    if op.options.get("AlignCorners") or not op.options.get("HalfPixelCenters"):
        raise ValueError(
            f"RESIZE_BILINEAR op {op.index}: only half-pixel centres (what "
            "Keras resizes with) convert. Received: "
            f"options={op.options}"
        )
    height, width = (int(v) for v in size)
    return layers.Resizing(
        height, width, interpolation="bilinear", name=builder.name(op)
    )(x)


def reshape(builder, op):
    values = builder.inputs(op, 2)
    x = values[0]
    shape = builder.tensor(op.outputs[0]).shape
    if isinstance(x, np.ndarray):
        return x.reshape(shape)
    return layers.Reshape(tuple(shape[1:]), name=builder.name(op))(x)


def concatenation(builder, op):
    xs = builder.inputs(op, len(op.inputs))
    axis = op.options.get("Axis", -1)
    y = layers.Concatenate(axis=axis, name=builder.name(op))(list(xs))
    return _activate(builder, op, y)


def mean(builder, op):
    x, axes = builder.inputs(op, 2)
    rank = len(x.shape)
    axes = sorted(int(a) % rank for a in np.ravel(axes))
    if rank != 4 or axes != [1, 2]:
        raise ValueError(
            f"MEAN op {op.index}: only the spatial mean of 4-D tensors "
            f"converts. Received: axes={axes}"
        )
    return layers.GlobalAveragePooling2D(
        keepdims=bool(op.options.get("KeepDims")), name=builder.name(op)
    )(x)


def dequantize(builder, op):
    (x,) = builder.inputs(op, 1)
    if not isinstance(x, np.ndarray):
        raise ValueError(
            f"DEQUANTIZE op {op.index}: only constant weights convert. "
            f"Received: input={builder.tensor(op.inputs[0])}"
        )
    source = builder.tensor(op.inputs[0])
    if source.dtype == "float16":
        return x.astype("float32")
    if source.scale is None:
        raise ValueError(
            f"DEQUANTIZE op {op.index}: integer weights without scale. "
            f"Received: input={source}"
        )
    axis_shape = (-1,) + (1,) * (x.ndim - 1) if source.scale.size > 1 else ()
    scale = source.scale.reshape(axis_shape) if axis_shape else source.scale
    zero = (
        source.zero_point.reshape(axis_shape)
        if axis_shape
        else source.zero_point
    )
    return ((x.astype("float32") - zero) * scale).astype("float32")


OPS = {
    "ADD": _binary(layers.Add, np.add),
    "AVERAGE_POOL_2D": _pool(layers.AveragePooling2D),
    "CONCATENATION": concatenation,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "DEQUANTIZE": dequantize,
    "FULLY_CONNECTED": fully_connected,
    "HARD_SWISH": _activation("hard_swish"),
    "LOGISTIC": _activation("sigmoid"),
    "MAX_POOL_2D": _pool(layers.MaxPooling2D),
    "MEAN": mean,
    "MUL": _binary(layers.Multiply, np.multiply),
    "PAD": pad,
    "PRELU": prelu,
    "RELU": _activation("relu"),
    "RELU6": _activation("relu6"),
    "RESHAPE": reshape,
    "RESIZE_BILINEAR": resize_bilinear,
    "SOFTMAX": softmax,
    "TANH": _activation("tanh"),
}
