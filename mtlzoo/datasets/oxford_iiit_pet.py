"""Oxford-IIIT Pet: breed, species, pet mask and head box (TFDS)."""

import math

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

# trimap 1 = pet, 2 = background, 3 = border -> 1, 0, 2 (else -1)
_PET_TRIMAP = {1: 1, 2: 0, 3: 2}


def oxford_iiit_pet_example(features, size=64, channels=None):
    """Map one Oxford-IIIT Pet feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    species = tf.cast(features["species"], tf.int32)
    trimap = tf.cast(features["segmentation_mask"][..., 0], tf.int32)
    mask = tf.gather(_tfds.lookup(_PET_TRIMAP), trimap)
    box = tf.cast(features["head_bbox"], tf.float32)
    # TFDS writes an all-zero box when an image has no head annotation.
    box = tf.where(tf.reduce_all(box == 0.0), math.nan, box)
    labels = {
        "breed": tf.cast(features["label"], tf.int32),
        "species": species,
        "mask": _utils.resize_nearest(mask, hw),
        "head": tf.concat([box, tf.cast(species, tf.float32)[None]], 0),
    }
    return _tfds.image(features, "image", hw, channels or 3), labels


oxford_iiit_pet = _tfds.loader(
    "oxford_iiit_pet",
    __name__,
    tasks=[
        Task("breed", "classification", num_classes=37),
        Task("species", "classification", num_classes=2),
        Task("mask", "segmentation", num_classes=3),
        Task("head", "box", num_classes=2),
    ],
    mapping=oxford_iiit_pet_example,
    size=64,
    doc="""Oxford-IIIT Pet: breed, species, pet mask and head box (TFDS).

    Tasks: `breed` (classification, 37), `species` (classification, 2:
    cat, dog), `mask` (segmentation, 3: 0 background, 1 pet, 2 border, from
    the trimap; other values -1) and `head` (box, 2 classes:
    `[y1, x1, y2, x2, species]` in 0..1; the box coordinates are NaN,
    i.e. missing, where TFDS has no head annotation). Images of any size are
    resized to `size` without keeping the aspect ratio (box coordinates are
    relative, so they stay valid). Splits "train", "test".
    """,
)
register_dataset("oxford_iiit_pet", oxford_iiit_pet)
