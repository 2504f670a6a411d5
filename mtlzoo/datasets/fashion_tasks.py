"""Fashion-MNIST as a four-task problem: garment, group, mask and ink."""

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _utils
from mtlzoo.datasets import sources
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

GARMENT_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
GROUP_NAMES = ("tops", "bottoms_and_dresses", "footwear", "bags")
# garment class -> coarse group
GARMENT_TO_GROUP = np.array([0, 1, 0, 1, 0, 2, 0, 2, 3, 2], np.int32)


@register_dataset("fashion_tasks")
def fashion_tasks(
    split="train",
    num_samples=None,
    size=28,
    channels=1,
    tasks=None,
    mask_threshold=32,
    seed=0,
    batch_size=None,
    shuffle=None,
    path=None,
    download=True,
    validation_split=None,
):
    """Fashion-MNIST with four tasks: two classifications, a mask, a ratio.

    Tasks:
    - `garment` (classification, 10 classes): the Fashion-MNIST class
      (`GARMENT_NAMES`).
    - `group` (classification, 4 classes): a coarse group of the garment,
      `GROUP_NAMES` = 0 `tops` {T-shirt/top, Pullover, Coat, Shirt},
      1 `bottoms_and_dresses` {Trouser, Dress}, 2 `footwear` {Sandal,
      Sneaker, Ankle boot}, 3 `bags` {Bag} (`GARMENT_TO_GROUP`).
    - `mask` (segmentation, 2 classes): 1 where the 28x28 pixel is brighter
      than `mask_threshold`, else 0; resized by nearest neighbour.
    - `ink` (regression, 1 unit): the fraction of foreground pixels of the
      28x28 mask, in [0, 1] (how much of the frame the item covers).

    Args:
        split: str. `"train"` (60,000 items), `"test"` (10,000) or
            `"validation"` (the `validation_split` fraction of the training
            file held out of `"train"`). Defaults to `"train"`.
        num_samples: int. Keep a seeded random subset of this many items.
            Defaults to None (all, in file order).
        size: int or `(height, width)`. Output size of images and masks.
            Defaults to 28.
        channels: int. 1 or 3 (grey copied to RGB). Defaults to 1.
        tasks: list of str. A subset of `["garment", "group", "mask",
            "ink"]`. Defaults to None (all four).
        mask_threshold: int. Grey level (0..254) above which a pixel is
            foreground. Defaults to 32.
        seed: int. Seeds the subset (alone) and the shuffle order
            (with TF's global seed, like any `tf.data` shuffle).
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (seeded, every epoch). Defaults to None:
            True for `"train"`.
        path: str or path. A directory of IDX files, an `.npz` with
            `x_train`, `y_train`, `x_test`, `y_test`, or `"sample"` (200 +
            200 real items shipped with mtlzoo). Defaults to None:
            `$MTLZOO_DATA_DIR`, then the Keras cache, then
            `keras.datasets` (online only).
        download: bool. Whether a `None` path may download. Defaults to
            True.
        validation_split: float in (0, 1). Hold out this fraction of the
            training file (a fixed random choice that does not depend on
            `seed`) as split `"validation"`; `"train"` is then the rest.
            Required for `"validation"`. Defaults to None (`"train"` is
            the whole training file).

    Returns:
        `(dataset, tasks)`: a `tf.data.Dataset` of `(image, labels)` with
        float32 images in [0, 255] shaped `(size, size, channels)` and
        labels `garment`, `group` (int32 scalars), `mask` (int32
        `(size, size)`), `ink` (float32 `(1,)`), and the list of `Task`s.

    Example:

    >>> ds, tasks = mtlzoo.datasets.fashion_tasks(
    ...     split="test", path="sample", size=32, batch_size=16)
    >>> [t.name for t in tasks]
    ['garment', 'group', 'mask', 'ink']
    """
    _utils.check_choice("split", split, ("train", "validation", "test"))
    validation_split = _utils.check_validation_split(split, validation_split)
    num_samples = _utils.check_int(
        "num_samples", num_samples, minimum=1, allow_none=True
    )
    hw = _utils.size_hw(size)
    _utils.check_channels(channels)
    mask_threshold = _utils.check_int(
        "mask_threshold", mask_threshold, minimum=0, maximum=254
    )
    seed = _utils.check_seed(seed)
    batch_size = _utils.check_batch_size(batch_size)
    shuffle = _utils.resolve_shuffle(shuffle, split)
    all_tasks = [
        Task("garment", "classification", num_classes=10),
        Task("group", "classification", num_classes=len(GROUP_NAMES)),
        Task("mask", "segmentation", num_classes=2),
        Task("ink", "regression", units=1),
    ]
    selected = _utils.select_tasks(all_tasks, tasks)
    names = [t.name for t in selected]

    x, y = sources.load_items(
        "fashion_mnist", split, path, download, validation_split
    )
    if y.min(initial=0) < 0 or y.max(initial=0) > 9:
        raise ValueError(
            f"Fashion-MNIST labels must be 0..9. Received: labels in "
            f"[{y.min()}, {y.max()}]"
        )
    if num_samples is not None:
        if num_samples > len(x):
            raise ValueError(
                f"`num_samples` exceeds the {len(x)} items of split "
                f"'{split}'. Received: num_samples={num_samples}"
            )
        rng = np.random.default_rng(_utils.subset_stream(seed, split))
        keep = np.sort(rng.choice(len(x), num_samples, replace=False))
        x, y = x[keep], y[keep]
    mask = (x > mask_threshold).astype(np.int32)
    labels = {
        "garment": y.astype(np.int32),
        "group": GARMENT_TO_GROUP[y],
        "mask": mask,
        "ink": mask.mean(axis=(1, 2), dtype=np.float32)[:, None],
    }
    labels = {k: v for k, v in labels.items() if k in names}

    def to_example(image, labels):
        image = _utils.resize_image(_utils.to_float_image(image, channels), hw)
        if "mask" in labels:
            labels = dict(labels)
            labels["mask"] = _utils.resize_nearest(labels["mask"], hw)
        return image, labels

    ds = tf.data.Dataset.from_tensor_slices((x, labels))
    ds = _utils.finish(
        ds, shuffle, seed, batch_size, to_example, buffer_size=len(x)
    )
    return ds, selected
