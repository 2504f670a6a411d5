"""MultiMNIST, MultiFashion and Multi-(Fashion+MNIST): two overlapped items.

Each image holds two 28x28 items on a 36x36 canvas: the "left" item at the
top-left (rows and columns 0..27), the "right" item at the bottom-right
(rows and columns 6..33), merged by a pixel-wise maximum where they overlap.
This is the construction of Sener & Koltun (2018)'s MultiMNIST loader, kept
at 36x36 as in Lin et al. (2019)'s Pareto MTL benchmarks. Every item of the
split is used once as a left item (in a seeded random order), paired with a
seeded random right item of the same split (never itself). Train and test
composites are built from their own split only.
"""

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _utils
from mtlzoo.datasets import sources
from mtlzoo.tasks import Task

CANVAS = 36
RIGHT_OFFSET = 6


def compose_pairs(left, right):
    """Overlap item pairs on 36x36 canvases.

    Args:
        left: uint8 array `(n, 28, 28)`. Items placed at the top-left.
        right: uint8 array `(n, 28, 28)`. Items placed at the bottom-right.

    Returns:
        uint8 array `(n, 36, 36)`: the pixel-wise maximum of both placements.
    """
    n = len(left)
    canvas = np.zeros((n, CANVAS, CANVAS), np.uint8)
    canvas[:, :28, :28] = left
    end = RIGHT_OFFSET + 28
    window = canvas[:, RIGHT_OFFSET:end, RIGHT_OFFSET:end]
    np.maximum(window, right, out=window)
    return canvas


def _pair_indices(n_left, n_right, num_samples, same_source, rng):
    if num_samples is None:
        num_samples = n_left
    reps = -(-num_samples // n_left)
    left = np.concatenate([rng.permutation(n_left) for _ in range(reps)])
    left = left[:num_samples]
    if same_source:
        # a random partner other than the item itself
        right = (left + rng.integers(1, n_left, size=num_samples)) % n_left
    else:
        right = rng.integers(0, n_right, size=num_samples)
    return left, right


def _multi(
    left_name,
    right_name,
    left_path,
    right_path,
    split,
    num_samples,
    size,
    channels,
    seed,
    batch_size,
    shuffle,
    download,
    validation_split,
):
    _utils.check_choice("split", split, ("train", "validation", "test"))
    validation_split = _utils.check_validation_split(split, validation_split)
    num_samples = _utils.check_int(
        "num_samples", num_samples, minimum=1, allow_none=True
    )
    hw = _utils.size_hw(size)
    _utils.check_channels(channels)
    seed = _utils.check_seed(seed)
    batch_size = _utils.check_batch_size(batch_size)
    shuffle = _utils.resolve_shuffle(shuffle, split)

    x_left, y_left = sources.load_items(
        left_name, split, left_path, download, validation_split
    )
    same = left_name == right_name and left_path == right_path
    if same:
        x_right, y_right = x_left, y_left
    else:
        x_right, y_right = sources.load_items(
            right_name, split, right_path, download, validation_split
        )
    if len(x_left) < 2 or len(x_right) < 1:
        raise ValueError(
            f"Need at least 2 items to compose pairs. "
            f"Received: {len(x_left)} items for split={split!r}"
        )
    rng = np.random.default_rng(_utils.subset_stream(seed, split))
    li, ri = _pair_indices(len(x_left), len(x_right), num_samples, same, rng)
    canvas = compose_pairs(x_left[li], x_right[ri])
    labels = {
        "left": y_left[li].astype(np.int32),
        "right": y_right[ri].astype(np.int32),
    }

    def to_example(image, labels):
        image = _utils.to_float_image(image, channels)
        return _utils.resize_image(image, hw), labels

    ds = tf.data.Dataset.from_tensor_slices((canvas, labels))
    ds = _utils.finish(
        ds, shuffle, seed, batch_size, to_example, buffer_size=len(canvas)
    )
    tasks = [
        Task("left", "classification", num_classes=10),
        Task("right", "classification", num_classes=10),
    ]
    return ds, tasks


def multi_mnist(
    split="train",
    num_samples=None,
    size=36,
    channels=1,
    seed=0,
    batch_size=None,
    shuffle=None,
    path=None,
    download=True,
    validation_split=None,
):
    """MultiMNIST: two overlapped MNIST digits, tasks `left` and `right`.

    Args:
        split: str. `"train"`, `"validation"` (needs `validation_split`)
            or `"test"`; pairs are composed within the split only.
            Defaults to `"train"`.
        num_samples: int. Number of composites. Defaults to None: one per
            item of the split (each item is the left item once); more
            reuse items with new partners.
        size: int or `(height, width)`. Output image size; the 36x36 canvas
            is resized (bilinear, antialiased). Defaults to 36.
        channels: int. 1 (greyscale) or 3 (the grey copied to RGB).
            Defaults to 1.
        seed: int. Seeds the pairing (alone) and the shuffle order
            (with TF's global seed, like any `tf.data` shuffle).
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (seeded, every epoch). Defaults to None:
            True for `"train"`, False for `"test"`.
        path: str or path. A directory of IDX files
            (`train-images-idx3-ubyte[.gz]`, ..., `t10k-labels-idx1-ubyte`),
            an `.npz` with `x_train`, `y_train`, `x_test`, `y_test`, or
            `"sample"` for the 200 + 200 real items shipped with mtlzoo.
            Defaults to None: `$MTLZOO_DATA_DIR`, then the Keras cache
            (`~/.keras/datasets`), then `keras.datasets`.
        download: bool. Whether a `None` path may fall back to
            `keras.datasets` (online only; 30 s socket timeout). Defaults
            to True.
        validation_split: float in (0, 1). Hold out this fraction of the
            training file(s) (a fixed random choice that does not depend on
            `seed`) as split `"validation"`; `"train"` composes pairs of
            the rest only. Defaults to None (the whole training file).

    Returns:
        `(dataset, tasks)`: a `tf.data.Dataset` of
        `(image, {"left": label, "right": label})` with float32 images in
        [0, 255] shaped `(size, size, channels)` and int32 labels 0..9, and
        the classification `Task`s `left` and `right` (10 classes each).

    Example:

    >>> ds, tasks = mtlzoo.datasets.multi_mnist(
    ...     split="test", path="sample", batch_size=32)
    >>> [t.name for t in tasks]
    ['left', 'right']

    Reference:
    - [Sener & Koltun, Multi-Task Learning as Multi-Objective Optimization,
      NeurIPS 2018](https://arxiv.org/abs/1810.04650)
    - [Lin et al., Pareto Multi-Task Learning, NeurIPS 2019](
      https://arxiv.org/abs/1912.12854)
    """
    return _multi(
        "mnist",
        "mnist",
        path,
        path,
        split,
        num_samples,
        size,
        channels,
        seed,
        batch_size,
        shuffle,
        download,
        validation_split,
    )


def multi_fashion(
    split="train",
    num_samples=None,
    size=36,
    channels=1,
    seed=0,
    batch_size=None,
    shuffle=None,
    path=None,
    download=True,
    validation_split=None,
):
    """MultiFashion: two overlapped Fashion-MNIST items, `left` and `right`.

    Args:
        split: str. `"train"`, `"validation"` (needs `validation_split`)
            or `"test"`; pairs are composed within the split only.
            Defaults to `"train"`.
        num_samples: int. Number of composites. Defaults to None: one per
            item of the split (each item is the left item once); more
            reuse items with new partners.
        size: int or `(height, width)`. Output image size; the 36x36 canvas
            is resized (bilinear, antialiased). Defaults to 36.
        channels: int. 1 (greyscale) or 3 (the grey copied to RGB).
            Defaults to 1.
        seed: int. Seeds the pairing (alone) and the shuffle order
            (with TF's global seed, like any `tf.data` shuffle).
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (seeded, every epoch). Defaults to None:
            True for `"train"`, False for `"test"`.
        path: str or path. A directory of IDX files
            (`train-images-idx3-ubyte[.gz]`, ..., `t10k-labels-idx1-ubyte`),
            an `.npz` with `x_train`, `y_train`, `x_test`, `y_test`, or
            `"sample"` for the 200 + 200 real items shipped with mtlzoo.
            Defaults to None: `$MTLZOO_DATA_DIR`, then the Keras cache
            (`~/.keras/datasets`), then `keras.datasets`.
        download: bool. Whether a `None` path may fall back to
            `keras.datasets` (online only; 30 s socket timeout). Defaults
            to True.
        validation_split: float in (0, 1). Hold out this fraction of the
            training file(s) (a fixed random choice that does not depend on
            `seed`) as split `"validation"`; `"train"` composes pairs of
            the rest only. Defaults to None (the whole training file).

    Returns:
        `(dataset, tasks)`: a `tf.data.Dataset` of
        `(image, {"left": label, "right": label})` with float32 images in
        [0, 255] shaped `(size, size, channels)` and int32 labels 0..9, and
        the classification `Task`s `left` and `right` (10 classes each).

    Example:

    >>> ds, tasks = mtlzoo.datasets.multi_fashion(
    ...     split="test", path="sample", size=64, channels=3)

    Reference:
    - [Sener & Koltun, Multi-Task Learning as Multi-Objective Optimization,
      NeurIPS 2018](https://arxiv.org/abs/1810.04650)
    - [Lin et al., Pareto Multi-Task Learning, NeurIPS 2019](
      https://arxiv.org/abs/1912.12854)
    """
    return _multi(
        "fashion_mnist",
        "fashion_mnist",
        path,
        path,
        split,
        num_samples,
        size,
        channels,
        seed,
        batch_size,
        shuffle,
        download,
        validation_split,
    )


def multi_fashion_mnist(
    split="train",
    num_samples=None,
    size=36,
    channels=1,
    seed=0,
    batch_size=None,
    shuffle=None,
    fashion_path=None,
    mnist_path=None,
    download=True,
    validation_split=None,
):
    """Multi-(Fashion+MNIST): a Fashion-MNIST item and an MNIST digit.

    The left (top-left) item is a Fashion-MNIST item, the right
    (bottom-right) one an MNIST digit, both from the same split.

    Args:
        split: str. `"train"`, `"validation"` (needs `validation_split`)
            or `"test"`; pairs are composed within the split only.
            Defaults to `"train"`.
        num_samples: int. Number of composites. Defaults to None: one per
            item of the split (each item is the left item once); more
            reuse items with new partners.
        size: int or `(height, width)`. Output image size; the 36x36 canvas
            is resized (bilinear, antialiased). Defaults to 36.
        channels: int. 1 (greyscale) or 3 (the grey copied to RGB).
            Defaults to 1.
        seed: int. Seeds the pairing (alone) and the shuffle order
            (with TF's global seed, like any `tf.data` shuffle).
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (seeded, every epoch). Defaults to None:
            True for `"train"`, False for `"test"`.
        fashion_path: str or path. The Fashion-MNIST source, like `path`
            of `multi_fashion`. Defaults to None.
        mnist_path: str or path. The MNIST source, like `path` of
            `multi_mnist`. Defaults to None.
        download: bool. Whether a `None` path may fall back to
            `keras.datasets` (online only; 30 s socket timeout). Defaults
            to True.
        validation_split: float in (0, 1). Hold out this fraction of the
            training file(s) (a fixed random choice that does not depend on
            `seed`) as split `"validation"`; `"train"` composes pairs of
            the rest only. Defaults to None (the whole training file).

    Returns:
        `(dataset, tasks)`: a `tf.data.Dataset` of
        `(image, {"left": label, "right": label})` with float32 images in
        [0, 255] shaped `(size, size, channels)` and int32 labels 0..9, and
        the classification `Task`s `left` and `right` (10 classes each).

    Example:

    >>> ds, tasks = mtlzoo.datasets.multi_fashion_mnist(
    ...     split="test", fashion_path="sample", mnist_path="sample")

    Reference:
    - [Sener & Koltun, Multi-Task Learning as Multi-Objective Optimization,
      NeurIPS 2018](https://arxiv.org/abs/1810.04650)
    - [Lin et al., Pareto Multi-Task Learning, NeurIPS 2019](
      https://arxiv.org/abs/1912.12854)
    """
    return _multi(
        "fashion_mnist",
        "mnist",
        fashion_path,
        mnist_path,
        split,
        num_samples,
        size,
        channels,
        seed,
        batch_size,
        shuffle,
        download,
        validation_split,
    )
