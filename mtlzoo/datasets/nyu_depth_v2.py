"""NYU Depth V2 indoor scenes with metric depth (TFDS `nyu_depth_v2`)."""

import math

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task


def nyu_depth_v2_example(features, size=(96, 128), channels=None):
    """Map one NYU Depth V2 feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    depth = tf.cast(features["depth"], tf.float32)[..., None]
    depth = tf.where(depth > 0, depth, math.nan)
    labels = {"depth": _utils.resize_nearest(depth, hw)}
    return _tfds.image(features, "image", hw, channels or 3), labels


nyu_depth_v2 = _tfds.loader(
    "nyu_depth_v2",
    __name__,
    tasks=[Task("depth", "depth")],
    mapping=nyu_depth_v2_example,
    size=(96, 128),
    doc="""NYU Depth V2 indoor scenes with metric depth (TFDS `nyu_depth_v2`).

    Task: `depth` (depth, metres, shape `(H, W, 1)`; zeros = no reading ->
    NaN). The TFDS build (FastDepth's 47k train / 654 validation frames)
    has no segmentation or normals; the labelled 1,449-image NYUv2 of MTL
    papers is not in TFDS. Splits "train", "validation".
    """,
)
register_dataset("nyu_depth_v2", nyu_depth_v2)
