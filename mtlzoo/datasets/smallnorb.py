"""smallNORB toys (left camera image) with five classification tasks."""

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

# task -> (TFDS feature, number of classes)
SMALLNORB_TASKS = {
    "category": ("label_category", 5),
    "instance": ("instance", 10),
    "elevation": ("label_elevation", 9),
    "azimuth": ("label_azimuth", 18),
    "lighting": ("label_lighting", 6),
}


def smallnorb_example(features, size=64, channels=None):
    """Map one smallNORB feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    labels = {
        name: tf.cast(features[key], tf.int32)
        for name, (key, _) in SMALLNORB_TASKS.items()
    }
    return _tfds.image(features, "image", hw, channels or 1), labels


smallnorb = _tfds.loader(
    "smallnorb",
    __name__,
    tasks=[
        Task(name, "classification", num_classes=n)
        for name, (_, n) in SMALLNORB_TASKS.items()
    ],
    mapping=smallnorb_example,
    size=64,
    doc="""smallNORB toys (left camera image) with five classification tasks.

    Tasks: `category` (5), `instance` (10), `elevation` (9), `azimuth`
    (18) and `lighting` (6), all classification. Splits "train", "test".
    """,
)
register_dataset("smallnorb", smallnorb)
