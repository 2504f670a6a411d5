"""Single-object box head: box coordinates and class scores."""

from keras import layers

from mtlzoo.heads.base import VectorHead
from mtlzoo.heads.base import register_head


@register_head("box")
class BoxHead(VectorHead):
    """One box `[y1, x1, y2, x2]` (sigmoid, 0..1) and class probabilities.

    The output is the concatenation `(batch, 4 + num_classes)`, so a box
    task has one output named after it.

    Args:
        task: mtlzoo.Task. A box task.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "flatten",
            since a box needs where things are.
    """

    def __init__(self, task, units=(128,), dropout=0.0, pooling="flatten"):
        super().__init__(task, units, dropout, pooling)

    def __call__(self, features, input_shape):
        name = self.task.name
        x = self.hidden(features)
        box = layers.Dense(4, activation="sigmoid", name=f"{name}_box")(x)
        cls = layers.Dense(
            self.task.num_classes, activation="softmax", name=f"{name}_class"
        )(x)
        return layers.Concatenate(name=name, dtype="float32")([box, cls])
