"""Two overlapped 28x28 items on a 36x36 canvas: the MultiMNIST family.

Each image holds two 28x28 items on a 36x36 canvas: the "left" item at the
top-left (rows and columns 0..27), the "right" item at the bottom-right
(rows and columns 6..33), merged by a pixel-wise maximum where they overlap.
This is the construction of Sener & Koltun (2018)'s MultiMNIST loader, kept
at 36x36 as in Lin et al. (2019)'s Pareto MTL benchmarks. Every item of the
split is used once as a left item (in a seeded random order), paired with a
seeded random right item of the same split (never itself). Train and test
composites are built from their own split only.

`multi_mnist.py`, `multi_fashion.py` and `multi_fashion_mnist.py` declare
their loader with `loader(...)`; the parameters, the composition and the
docs they share are here.
"""

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _loader
from mtlzoo.datasets import _utils
from mtlzoo.datasets import sources
from mtlzoo.tasks import Task

CANVAS = 36
RIGHT_OFFSET = 6

PATH_ARG = """
    path: str or path. A directory of IDX files
        (`train-images-idx3-ubyte[.gz]`, ..., `t10k-labels-idx1-ubyte`),
        an `.npz` with `x_train`, `y_train`, `x_test`, `y_test`, or
        `"sample"` for the 200 + 200 real items shipped with mtlzoo.
        Defaults to None: `$MTLZOO_DATA_DIR`, then the Keras cache
        (`~/.keras/datasets`), then `keras.datasets`.
"""
ARGS_BEFORE_PATHS = """
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
"""
ARGS_AFTER_PATHS = """
    download: bool. Whether a `None` path may fall back to
        `keras.datasets` (online only; 30 s socket timeout). Defaults
        to True.
    validation_split: float in (0, 1). Hold out this fraction of the
        training file(s) (a fixed random choice that does not depend on
        `seed`) as split `"validation"`; `"train"` composes pairs of
        the rest only. Defaults to None (the whole training file).
"""
RETURNS = """
    `(dataset, tasks)`: a `tf.data.Dataset` of
    `(image, {"left": label, "right": label})` with float32 images in
    [0, 255] shaped `(size, size, channels)` and int32 labels 0..9, and
    the classification `Task`s `left` and `right` (10 classes each).
"""
REFERENCE = """
    - [Sener & Koltun, Multi-Task Learning as Multi-Objective Optimization,
      NeurIPS 2018](https://arxiv.org/abs/1810.04650)
    - [Lin et al., Pareto Multi-Task Learning, NeurIPS 2019](
      https://arxiv.org/abs/1912.12854)
"""


def loader(name, module, left, right, doc, example, paths_doc=PATH_ARG):
    """Declares a composite loader; returns the function `name(...)`.

    Args:
        name: str. The loader's name (its module's and registry name).
        module: str. The `__name__` of the defining module.
        left: str. Source of the left items (`"mnist"` or
            `"fashion_mnist"`, see `mtlzoo.datasets.sources`).
        right: str. Source of the right items. When it is `left`, one
            `path` parameter serves both; otherwise `fashion_path` and
            `mnist_path` (in the order left, right).
        doc: str. Summary and description.
        example: str. The `Example:` lines.
        paths_doc: str. `Args:` lines of the path parameters.
    """
    if left == right:
        path_names = ("path",)
    else:
        path_names = tuple(f"{s.split('_')[0]}_path" for s in (left, right))
    parameters = [("split", "train"), ("num_samples", None), ("size", 36)]
    parameters += [("channels", 1), ("seed", 0), ("batch_size", None)]
    parameters += [("shuffle", None), *((p, None) for p in path_names)]
    parameters += [("download", True), ("validation_split", None)]

    def load(**arguments):
        paths = [arguments.pop(p) for p in path_names]
        return compose(left, right, paths[0], paths[-1], **arguments)

    sections = [
        ("Args", [ARGS_BEFORE_PATHS, paths_doc, ARGS_AFTER_PATHS]),
        ("Returns", RETURNS),
        ("Example", example),
        ("Reference", REFERENCE),
    ]
    return _loader.make_loader(
        name, module, parameters, load, _loader.docstring(doc, sections)
    )


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


def pair_indices(n_left, n_right, num_samples, same_source, rng):
    """Left and right item indices of `num_samples` composites."""
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


def compose(
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
    """The composite dataset and tasks; see the module docstring."""
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
    li, ri = pair_indices(len(x_left), len(x_right), num_samples, same, rng)
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
