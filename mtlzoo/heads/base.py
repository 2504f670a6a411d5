"""Shared pieces of head blocks and the head registry."""

import keras
from keras import layers
from keras import ops

from mtlzoo._registry import Registry

HEADS = Registry("head", "head")


def register_head(name, cls=None):
    """Register a head block class under `name` (usable as decorator).

    A head class takes `(task, **options)`, lists its option names in
    `options`, and its instances are called as `head(features,
    input_shape)` (features: dict level -> tensor) and return the task's
    output tensor, whose last layer is named after the task.
    """
    return HEADS.register(name, cls)


def as_units(name, task, units):
    """Normalise a hidden-layer spec (int or list of ints) to a list."""
    if units is None:
        return []
    if isinstance(units, int):
        units = [units]
    if not isinstance(units, (list, tuple)) or not all(
        isinstance(u, int) and u > 0 for u in units
    ):
        raise ValueError(
            f"Head option `{name}` of task '{task}' must be a positive int "
            f"or a list of them. Received: {name}={units!r}"
        )
    return list(units)


class VectorHead:
    """Base of heads that pool the deepest features and run an MLP.

    Args:
        task: mtlzoo.Task. The task the head predicts.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "avg".
    """

    options = ("units", "dropout", "pooling")

    def __init__(self, task, units=(128,), dropout=0.0, pooling="avg"):
        self.task = task
        self.units = as_units("units", task.name, units)
        self.dropout = float(dropout)
        self.pooling = pooling

    def hidden(self, features):
        """The MLP output on the deepest level of `features`."""
        x = features[max(features)]
        return mlp(x, self.task.name, self.units, self.dropout, self.pooling)


def mlp(x, task, units, dropout, pooling="avg"):
    """Pool a feature map (if spatial) and run hidden dense layers."""
    if len(x.shape) == 4:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D(name=f"{task}_head_pool")(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D(name=f"{task}_head_pool")(x)
        elif pooling == "flatten":
            x = layers.Flatten(name=f"{task}_head_flatten")(x)
        else:
            raise ValueError(
                f"Head option `pooling` of task '{task}' must be 'avg', "
                f"'max' or 'flatten'. Received: pooling={pooling!r}"
            )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(
            f"Head option `dropout` of task '{task}' must be in [0, 1). "
            f"Received: dropout={dropout!r}"
        )
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation="relu", name=f"{task}_head_dense_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{task}_head_dropout_{i}")(x)
    return x


@keras.saving.register_keras_serializable(package="mtlzoo")
class Resize(layers.Layer):
    """Resize feature maps to a fixed `(height, width)`.

    Unlike `keras.layers.Resizing`, whose `call` defaults to
    `training=True` and so would switch the BatchNormalization layers after
    it to batch statistics when a model is called without `training=`, it
    takes no `training` argument.

    Args:
        height: int. Output height.
        width: int. Output width.
        interpolation: str. Defaults to `"bilinear"`.
    """

    def __init__(self, height, width, interpolation="bilinear", **kwargs):
        super().__init__(**kwargs)
        self.height = int(height)
        self.width = int(width)
        self.interpolation = interpolation

    def call(self, inputs):
        return ops.image.resize(
            inputs, (self.height, self.width), interpolation=self.interpolation
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "height": self.height,
                "width": self.width,
                "interpolation": self.interpolation,
            }
        )
        return config
