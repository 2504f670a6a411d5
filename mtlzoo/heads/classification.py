"""Classification and multi-label head: pooling + MLP + softmax/sigmoid."""

from keras import layers

from mtlzoo.heads.base import VectorHead


class ClassificationHead(VectorHead):
    """Pool the deepest feature map, hidden dense layers, class scores.

    Outputs probabilities: softmax for `classification`, independent
    sigmoids for `multilabel`. The last layer is named after the task.

    Args:
        task: mtlzoo.Task. A classification or multilabel task.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "avg".
    """

    def __call__(self, features, input_shape):
        x = self.hidden(features)
        activation = "sigmoid" if self.task.kind == "multilabel" else "softmax"
        return layers.Dense(
            self.task.num_classes,
            activation=activation,
            name=self.task.name,
            dtype="float32",
        )(x)
