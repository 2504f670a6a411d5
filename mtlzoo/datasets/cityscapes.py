"""Cityscapes street scenes: semantic segmentation or disparity (TFDS)."""

import math

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

# Cityscapes labelIds -> 19 trainIds (others ignored, -1)
_CITYSCAPES_19_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26)
_CITYSCAPES_19_IDS += (27, 28, 31, 32, 33)
_CITYSCAPES_19 = {label_id: i for i, label_id in enumerate(_CITYSCAPES_19_IDS)}
# Cityscapes labelIds -> 7 categories: flat, construction, object, nature,
# sky, human, vehicle (void ignored, -1)
_CITYSCAPES_7 = {
    **{i: 0 for i in (7, 8, 9, 10)},
    **{i: 1 for i in range(11, 17)},
    **{i: 2 for i in range(17, 21)},
    **{i: 3 for i in (21, 22)},
    23: 4,
    **{i: 5 for i in (24, 25)},
    **{i: 6 for i in range(26, 34)},
}


def cityscapes_example(
    features, size=(128, 256), channels=None, num_classes=19
):
    """Map one Cityscapes feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    labels = {}
    if "segmentation_label" in features:
        mapping = _CITYSCAPES_19 if num_classes == 19 else _CITYSCAPES_7
        ids = tf.cast(features["segmentation_label"][..., 0], tf.int32)
        seg = tf.gather(_tfds.lookup(mapping), ids)
        labels["segmentation"] = _utils.resize_nearest(seg, hw)
    if "disparity_map" in features:
        disparity = tf.cast(features["disparity_map"], tf.float32)
        disparity = tf.where(disparity > 0, disparity, math.nan)
        labels["disparity"] = _utils.resize_nearest(disparity, hw)
    return _tfds.image(features, "image_left", hw, channels or 3), labels


def _tasks(config, num_classes):
    _utils.check_choice(
        "config", config, ("semantic_segmentation", "stereo_disparity")
    )
    _utils.check_choice("num_classes", num_classes, (19, 7))
    if config == "semantic_segmentation":
        return [Task("segmentation", "segmentation", num_classes)]
    return [Task("disparity", "depth")]


cityscapes = _tfds.loader(
    "cityscapes",
    __name__,
    tfds_name="cityscapes/{config}",
    tasks=_tasks,
    mapping=cityscapes_example,
    size=(128, 256),
    options={"config": "semantic_segmentation", "num_classes": 19},
    mapping_options=("num_classes",),
    manual_dir=True,
    doc="""Cityscapes street scenes: semantic segmentation or disparity (TFDS).

    With `config="semantic_segmentation"` the task is `segmentation`
    (segmentation, 19 train classes, or 7 categories with
    `num_classes=7`: flat, construction, object, nature, sky, human,
    vehicle; ignored label ids become -1). With
    `config="stereo_disparity"` it is `disparity` (depth kind: TFDS's
    disparity value as float, 0 = invalid -> NaN), shape `(H, W, 1)`.
    Cityscapes needs a manual download (login): put the zips in
    `manual_dir` and pass `download=True` once to prepare.
    """,
    options_doc="""
    config: str. `"semantic_segmentation"` or `"stereo_disparity"`.
        Defaults to `"semantic_segmentation"`.
    num_classes: int. 19 or 7. Defaults to 19.
    """,
)
register_dataset("cityscapes", cityscapes)
