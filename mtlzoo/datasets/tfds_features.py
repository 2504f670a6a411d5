"""Feature mappings of the TFDS wrappers: one TFDS example -> (image, labels).

Each `<dataset>_example(features, size, channels)` takes the feature dict of
one TFDS example (tensors, as `tfds.load` yields them) and returns
`(image, labels)`: a float32 image in [0, 255] resized to `size` and a dict
of labels keyed by task name. `mtlzoo.datasets.tfds_datasets` maps them over
the TFDS datasets; they also work on hand-made dicts.
"""

import math

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _utils

CELEB_A_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs "
    "Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair "
    "Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
    "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache "
    "Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings "
    "Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
CELEB_A_LANDMARKS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
    "leftmouth_y rightmouth_x rightmouth_y"
).split()
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


def _lookup(mapping):
    table = np.full(256, -1, np.int32)
    for key, value in mapping.items():
        table[key] = value
    return tf.constant(table)


def _image(features, key, hw, channels):
    image = _utils.to_float_image(features[key], channels)
    return _utils.resize_image(image, hw)


def attribute_task_name(attribute):
    """Task name of a CelebA attribute: lower case, an identifier."""
    name = attribute.lower()
    return "five" + name[1:] if name.startswith("5") else name


# --------------------------------------------------------------- CelebA
def celeb_a_example(features, size=64, channels=None, per_attribute=False):
    """Map one CelebA feature dict to `(image, labels)`; see `celeb_a`."""
    hw = _utils.size_hw(size, minimum=1)
    image = features["image"]
    shape = tf.cast(tf.shape(image), tf.float32)
    attributes = [
        tf.cast(features["attributes"][a], tf.float32)
        for a in CELEB_A_ATTRIBUTES
    ]
    landmarks = tf.stack(
        [
            tf.cast(features["landmarks"][k], tf.float32)
            / (shape[1] if k.endswith("_x") else shape[0])
            for k in CELEB_A_LANDMARKS
        ]
    )
    labels = {"landmarks": landmarks}
    if per_attribute:
        for name, value in zip(CELEB_A_ATTRIBUTES, attributes):
            labels[attribute_task_name(name)] = tf.cast(value, tf.int32)
    else:
        labels["attributes"] = tf.stack(attributes)
    return _image(features, "image", hw, channels or 3), labels


# ------------------------------------------------------------- dSprites
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


# ------------------------------------------------------------- Shapes3D
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
    return _image(features, "image", hw, channels or 3), labels


# ------------------------------------------------------------ smallNORB
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
    return _image(features, "image", hw, channels or 1), labels


# ------------------------------------------------------ Oxford-IIIT Pet
# trimap 1 = pet, 2 = background, 3 = border -> 1, 0, 2 (else -1)
_PET_TRIMAP = {1: 1, 2: 0, 3: 2}


def oxford_iiit_pet_example(features, size=64, channels=None):
    """Map one Oxford-IIIT Pet feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    species = tf.cast(features["species"], tf.int32)
    trimap = tf.cast(features["segmentation_mask"][..., 0], tf.int32)
    mask = tf.gather(_lookup(_PET_TRIMAP), trimap)
    box = tf.cast(features["head_bbox"], tf.float32)
    # TFDS writes an all-zero box when an image has no head annotation.
    box = tf.where(tf.reduce_all(box == 0.0), math.nan, box)
    labels = {
        "breed": tf.cast(features["label"], tf.int32),
        "species": species,
        "mask": _utils.resize_nearest(mask, hw),
        "head": tf.concat([box, tf.cast(species, tf.float32)[None]], 0),
    }
    return _image(features, "image", hw, channels or 3), labels


# ----------------------------------------------------------- Cityscapes
def cityscapes_example(
    features, size=(128, 256), channels=None, num_classes=19
):
    """Map one Cityscapes feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    labels = {}
    if "segmentation_label" in features:
        mapping = _CITYSCAPES_19 if num_classes == 19 else _CITYSCAPES_7
        ids = tf.cast(features["segmentation_label"][..., 0], tf.int32)
        seg = tf.gather(_lookup(mapping), ids)
        labels["segmentation"] = _utils.resize_nearest(seg, hw)
    if "disparity_map" in features:
        disparity = tf.cast(features["disparity_map"], tf.float32)
        disparity = tf.where(disparity > 0, disparity, math.nan)
        labels["disparity"] = _utils.resize_nearest(disparity, hw)
    return _image(features, "image_left", hw, channels or 3), labels


# ---------------------------------------------------------- NYU Depth V2
def nyu_depth_v2_example(features, size=(96, 128), channels=None):
    """Map one NYU Depth V2 feature dict to `(image, labels)`."""
    hw = _utils.size_hw(size, minimum=1)
    depth = tf.cast(features["depth"], tf.float32)[..., None]
    depth = tf.where(depth > 0, depth, math.nan)
    labels = {"depth": _utils.resize_nearest(depth, hw)}
    return _image(features, "image", hw, channels or 3), labels
