"""Helpers shared by the dataset loaders: argument checks, resizing, batching.

Every loader returns `(dataset, tasks)`: a `tf.data.Dataset` of
`(image, {task_name: label})` with float32 images holding raw pixel values in
[0, 255], shape `(H, W, C)`, and the list of `mtlzoo.Task`s it is labelled
for.
"""

import numbers

import numpy as np
import tensorflow as tf

SHUFFLE_BUFFER = 16384


def check_choice(name, value, choices):
    """Raise ValueError unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_int(name, value, minimum=1, maximum=None, allow_none=False):
    """Return `value` as int; raise ValueError if not an int in range."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and value >= minimum and (maximum is None or value <= maximum)
    if not ok:
        bound = f">= {minimum}"
        if maximum is not None:
            bound = f"between {minimum} and {maximum}"
        none = " (or None)" if allow_none else ""
        raise ValueError(
            f"`{name}` must be an integer {bound}{none}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_seed(seed, allow_none=False):
    """Return `seed` as a non-negative int (or None if allowed)."""
    return check_int("seed", seed, minimum=0, allow_none=allow_none)


def size_hw(size, minimum=8):
    """Normalise `size` (int or `(height, width)`) to a pair of ints."""
    if isinstance(size, (tuple, list)) and len(size) == 2:
        pair = tuple(size)
    else:
        pair = (size, size)
    for value in pair:
        if not (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and value >= minimum
        ):
            raise ValueError(
                f"`size` must be an integer >= {minimum} or a pair "
                f"(height, width) of such integers. Received: size={size!r}"
            )
    return int(pair[0]), int(pair[1])


def check_channels(channels):
    """Return `channels` if it is 1 or 3; raise ValueError otherwise."""
    return check_choice("channels", channels, (1, 3))


def select_tasks(all_tasks, tasks, default=None):
    """Pick the requested tasks (names or None) from `all_tasks`.

    Args:
        all_tasks: list of `Task`. Every task the loader can produce.
        tasks: None, str or list of str. Requested task names.
        default: list of str. Names used when `tasks` is None. Defaults to
            all of them.

    Returns:
        The selected `Task`s, in the order of `all_tasks`.
    """
    names = [t.name for t in all_tasks]
    if tasks is None:
        wanted = list(default) if default is not None else names
    else:
        wanted = [tasks] if isinstance(tasks, str) else list(tasks)
        unknown = [n for n in wanted if n not in names]
        if unknown or not wanted:
            raise ValueError(
                f"`tasks` must be a non-empty list of task names from "
                f"{names}. Received: tasks={tasks!r}"
            )
    return [t for t in all_tasks if t.name in wanted]


def resolve_shuffle(shuffle, split):
    """`shuffle=None` means: shuffle the training split only."""
    if shuffle is None:
        return split == "train"
    if not isinstance(shuffle, bool):
        raise ValueError(
            "`shuffle` must be True, False or None. "
            f"Received: shuffle={shuffle!r}"
        )
    return shuffle


def check_batch_size(batch_size):
    return check_int("batch_size", batch_size, minimum=1, allow_none=True)


def finish(
    ds, shuffle, seed, batch_size, map_fn=None, buffer_size=SHUFFLE_BUFFER
):
    """Shuffle (seeded, reshuffled each epoch), map, batch and prefetch.

    The shuffle buffer holds `min(buffer_size, SHUFFLE_BUFFER)` elements.
    """
    if shuffle:
        buffer_size = max(1, min(buffer_size, SHUFFLE_BUFFER))
        ds = ds.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


def to_float_image(image, channels):
    """uint8/float `(H, W)` or `(H, W, C)` image -> float32 `(H, W, C)`."""
    image = tf.cast(image, tf.float32)
    if image.shape.rank == 2:
        image = image[..., None]
    if channels == 3 and image.shape[-1] == 1:
        image = tf.tile(image, [1, 1, 3])
    elif channels == 1 and image.shape[-1] == 3:
        image = tf.reduce_sum(
            image * tf.constant([0.299, 0.587, 0.114], tf.float32),
            axis=-1,
            keepdims=True,
        )
    return image


def resize_image(image, hw):
    """Bilinear (antialiased) resize of a float image, kept in [0, 255]."""
    if tuple(image.shape[:2]) == tuple(hw):
        return image
    image = tf.image.resize(image, hw, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def resize_nearest(label, hw):
    """Nearest-neighbour resize of a `(H, W)` or `(H, W, C)` label map."""
    if tuple(label.shape[:2]) == tuple(hw):
        return label
    if label.shape.rank == 2:
        return tf.image.resize(label[..., None], hw, method="nearest")[..., 0]
    return tf.image.resize(label, hw, method="nearest")


# The held-out validation items of a training file depend on the file's
# length and `validation_split` only: every `seed` sees the same ones.
HOLDOUT_SEED = 20181115


def check_validation_split(split, validation_split):
    """Check `validation_split` (None or a float in (0, 1)) for `split`."""
    if validation_split is not None:
        ok = isinstance(validation_split, numbers.Real) and not isinstance(
            validation_split, bool
        )
        if not ok or not 0.0 < validation_split < 1.0:
            raise ValueError(
                "`validation_split` must be a fraction strictly between 0 "
                f"and 1 (or None). Received: validation_split="
                f"{validation_split!r}"
            )
        validation_split = float(validation_split)
    if split == "validation" and validation_split is None:
        raise ValueError(
            "split='validation' holds out part of the training file: pass "
            "the fraction as `validation_split` (e.g. 0.1). Received: "
            "validation_split=None"
        )
    if split == "test" and validation_split is not None:
        raise ValueError(
            "`validation_split` holds out part of the training file; the "
            "test split is never split. Received: split='test', "
            f"validation_split={validation_split!r}"
        )
    return validation_split


def holdout_indices(num_items, split, validation_split):
    """Indices (sorted) of a training file's items that belong to `split`.

    A fixed random `validation_split` fraction (independent of any `seed`)
    is the validation split and the rest the training split, so the two
    never share an item.
    """
    count = int(round(num_items * validation_split))
    if not 0 < count < num_items:
        raise ValueError(
            f"validation_split={validation_split!r} of {num_items} items "
            f"leaves {count} validation and {num_items - count} training "
            "items; both need at least one."
        )
    order = np.random.default_rng([HOLDOUT_SEED, num_items]).permutation(
        num_items
    )
    held = order[:count] if split == "validation" else order[count:]
    return np.sort(held)


def subset_stream(seed, split):
    """Seeds a loader's per-split random choices (train, test, validation)."""
    return [seed, {"train": 0, "test": 1, "validation": 2}[split]]
