"""Classification and multi-label head: pooling + MLP + softmax/sigmoid."""

from keras import layers

from mtlzoo.heads.base import VectorHead
from mtlzoo.heads.base import register_head


@register_head("classification")
class ClassificationHead(VectorHead):
    """Pool the deepest feature map, hidden dense layers, class scores.

    Outputs probabilities with the task's `output_activation`: softmax for
    `classification`, independent sigmoids for `multilabel`. The last layer
    is named after the task.

    Args:
        task: mtlzoo.Task. A classification or multilabel task.
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
