"""Regression head: pooling + MLP + linear output."""

from keras import layers

from mtlzoo.heads.base import VectorHead
from mtlzoo.heads.base import register_head


@register_head("regression")
class RegressionHead(VectorHead):
    """Pool the deepest feature map, hidden dense layers, value outputs.

    The output layer has `task.output_shape(...)[-1]` units and the task's
    `output_activation` (none, i.e. linear, for `regression`).

    Args:
        task: mtlzoo.Task. A regression task.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "avg".
    """

    def __call__(self, features, input_shape):
        x = self.hidden(features)
        return layers.Dense(
            self.task.output_shape(input_shape)[-1],
            activation=self.task.output_activation,
            name=self.task.name,
            dtype="float32",
        )(x)
