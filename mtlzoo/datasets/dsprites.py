"""dSprites: 2D shapes with scale, orientation and position (TFDS)."""

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

DSPRITES_SYMMETRY = (4, 2, 1)  # square, ellipse, heart


def dsprites_example(features, size=64, channels=None):
    """Map one dSprites feature dict to `(image, labels)`; see `dsprites`."""
    hw = _utils.size_hw(size, minimum=1)
    image = tf.cast(features["image"], tf.float32)
    # TFDS stores dSprites pixels as 0/1; bring them to 0/255.
    image = tf.where(tf.reduce_max(image) <= 1.0, image * 255.0, image)
    image = _utils.resize_image(_utils.to_float_image(image, channels or 1), hw)
    shape = tf.cast(features["label_shape"], tf.int32)
    k = tf.gather(tf.constant(DSPRITES_SYMMETRY, tf.float32), shape)
    angle = k * tf.cast(features["value_orientation"], tf.float32)
    labels = {
        "shape": shape,
        "scale": tf.reshape(tf.cast(features["value_scale"], tf.float32), [1]),
        "orientation": tf.stack([tf.sin(angle), tf.cos(angle)]),
        "position": tf.cast(
            tf.stack(
                [features["value_x_position"], features["value_y_position"]]
            ),
            tf.float32,
        ),
    }
    return image, labels


dsprites = _tfds.loader(
    "dsprites",
    __name__,
    tasks=[
        Task("shape", "classification", num_classes=3),
        Task("scale", "regression", units=1),
        Task("orientation", "regression", units=2),
        Task("position", "regression", units=2),
    ],
    mapping=dsprites_example,
    size=64,
    doc="""dSprites: 2D shapes with scale, orientation, position (TFDS).

    Tasks: `shape` (classification, 3: square, ellipse, heart), `scale`
    (regression, 1: 0.5..1), `orientation` (regression, 2: `(sin k*a,
    cos k*a)` with `k` the shape's rotational symmetry, 4, 2, 1, as in
    `mtlzoo.datasets.shapes`), `position` (regression, 2: `(x, y)` in
    0..1). TFDS has a single "train" split: slice it, e.g.
    `split="train[:90%]"`. Pixels (0/1 in TFDS) become 0/255.
    """,
)
register_dataset("dsprites", dsprites)
