"""Regression head: pooling + MLP + linear output."""

from keras import layers

from mtlzoo.heads.base import VectorHead


class RegressionHead(VectorHead):
    """Pool the deepest feature map, hidden dense layers, linear outputs.

    Args:
        task: mtlzoo.Task. A regression task.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "avg".
    """

    def __call__(self, features, input_shape):
        x = self.hidden(features)
        return layers.Dense(
            self.task.units, name=self.task.name, dtype="float32"
        )(x)
