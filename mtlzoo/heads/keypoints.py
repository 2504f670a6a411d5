"""Keypoints head: K points' coordinates and visibilities from a vector."""

from keras import layers

from mtlzoo.heads.base import VectorHead
from mtlzoo.heads.base import register_head

ORDERS = ("point", "axis")


@register_head("keypoints")
class KeypointsHead(VectorHead):
    """Pool, hidden dense layers, then `K * coords` linear coordinates
    reshaped to `(K, coords)` and, for tasks with `visibility`, one sigmoid
    visibility per point: the output is `(batch, K, coords + 1)` (or
    `(batch, K, coords)`), named after the task.

    Args:
        task: mtlzoo.Task. A keypoints task.
        units: int or list of int. Hidden layer sizes. Defaults to [128].
        dropout: float. Dropout after each hidden layer. Defaults to 0.
        pooling: str. "avg", "max" or "flatten". Defaults to "flatten",
            since points need where things are.
        order: str. Layout of the coordinate layer's units: `"point"`
            (`x0, y0, x1, y1, ...`, as MediaPipe) or `"axis"` (`x0, x1,
            ..., y0, y1, ...`, as MTCNN). Defaults to `"point"`.
    """

    options = VectorHead.options + ("order",)

    def __init__(
        self, task, units=(128,), dropout=0.0, pooling="flatten", order="point"
    ):
        super().__init__(task, units, dropout, pooling)
        if order not in ORDERS:
            raise ValueError(
                f"Head option `order` of task '{task.name}' must be one of "
                f"{ORDERS}. Received: order={order!r}"
            )
        self.order = order

    def __call__(self, features, input_shape):
        task = self.task
        name, k, c = task.name, task.num_keypoints, task.coords
        x = self.hidden(features)
        coords = layers.Dense(k * c, name=f"{name}_coords")(x)
        last = name if not task.visibility else f"{name}_points"
        if self.order == "point":
            points = layers.Reshape((k, c), name=last, dtype="float32")(coords)
        else:
            axes = layers.Reshape((c, k), name=f"{name}_axes")(coords)
            points = layers.Permute((2, 1), name=last, dtype="float32")(axes)
        if not task.visibility:
            return points
        vis = layers.Dense(k, activation="sigmoid", name=f"{name}_visibility")(
            x
        )
        vis = layers.Reshape((k, 1), name=f"{name}_visibility_column")(vis)
        return layers.Concatenate(name=name, dtype="float32")([points, vis])
