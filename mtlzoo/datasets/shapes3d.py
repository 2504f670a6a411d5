"""3D Shapes: six factors of variation as tasks (TFDS `shapes3d`)."""

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task


def shapes3d_example(features, size=64, channels=None):
    """Map one Shapes3D feature dict to `(image, labels)`; see `shapes3d`."""
    hw = _utils.size_hw(size, minimum=1)
    labels = {
        name: tf.cast(features[f"label_{name}"], tf.int32)
        for name in ("floor_hue", "wall_hue", "object_hue", "shape")
    }
    labels["scale"] = tf.reshape(
        tf.cast(features["value_scale"], tf.float32), [1]
    )
    orientation = tf.cast(features["value_orientation"], tf.float32) / 30.0
    labels["orientation"] = tf.reshape(orientation, [1])
    return _tfds.image(features, "image", hw, channels or 3), labels


shapes3d = _tfds.loader(
    "shapes3d",
    __name__,
    tasks=[
        Task("floor_hue", "classification", num_classes=10),
        Task("wall_hue", "classification", num_classes=10),
        Task("object_hue", "classification", num_classes=10),
        Task("shape", "classification", num_classes=4),
        Task("scale", "regression", units=1),
        Task("orientation", "regression", units=1),
    ],
    mapping=shapes3d_example,
    size=64,
    doc="""3D Shapes: six factors of variation as tasks (TFDS `shapes3d`).

    Tasks: `floor_hue`, `wall_hue`, `object_hue` (classification, 10
    each), `shape` (classification, 4), `scale` (regression, 1: 0.75..1.25)
    and `orientation` (regression, 1: degrees / 30, so -1..1). TFDS has a
    single "train" split: slice it.
    """,
)
register_dataset("shapes3d", shapes3d)
