"""CelebA faces: 40 binary attributes and 5 landmarks (TFDS `celeb_a`)."""

import tensorflow as tf

from mtlzoo.datasets import _tfds
from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

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


def attribute_task_name(attribute):
    """Task name of a CelebA attribute: lower case, an identifier."""
    name = attribute.lower()
    return "five" + name[1:] if name.startswith("5") else name


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
    return _tfds.image(features, "image", hw, channels or 3), labels


def _tasks(per_attribute):
    landmarks = Task("landmarks", "regression", units=len(CELEB_A_LANDMARKS))
    if not per_attribute:
        return [Task("attributes", "multilabel", num_classes=40), landmarks]
    return [
        Task(attribute_task_name(a), "classification", num_classes=2)
        for a in CELEB_A_ATTRIBUTES
    ] + [landmarks]


celeb_a = _tfds.loader(
    "celeb_a",
    __name__,
    tasks=_tasks,
    mapping=celeb_a_example,
    size=64,
    options={"per_attribute": False},
    doc="""CelebA faces: 40 binary attributes and 5 landmarks (TFDS `celeb_a`).

    Tasks: `attributes` (multilabel, 40, float32 0/1, in the order of
    `CELEB_A_ATTRIBUTES`) or, with `per_attribute=True`, one binary
    classification task per attribute (the 40-task setup of Sener &
    Koltun 2018; names lower-cased, `5_o_Clock_Shadow` ->
    `five_o_clock_shadow`); and `landmarks` (regression, 10: the
    `CELEB_A_LANDMARKS` coordinates divided by the image width (x) or
    height (y), so in 0..1 whatever `size`).
    """,
    options_doc="""
    per_attribute: bool. One task per attribute. Defaults to False.
    """,
    example="""
    >>> ds, tasks = mtlzoo.datasets.celeb_a(split="validation", size=64)
    """,
)
register_dataset("celeb_a", celeb_a)
