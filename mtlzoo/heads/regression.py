"""Regression head: pooling + MLP + linear output."""

from keras import layers

from mtlzoo.heads.base import as_units
from mtlzoo.heads.base import mlp


class RegressionHead:
    """Pool the deepest feature map, hidden dense layers, linear outputs.

    Args:
        task: mtlzoo.Task. A regression task.
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

    def __call__(self, features, input_shape):
        x = features[max(features)]
        x = mlp(x, self.task.name, self.units, self.dropout, self.pooling)
        return layers.Dense(
            self.task.units, name=self.task.name, dtype="float32"
        )(x)
