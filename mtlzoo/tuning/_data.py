"""Small helpers for the data that search and affinity code receive."""

import numpy as np
import tensorflow as tf


def is_dataset(data):
    return isinstance(data, tf.data.Dataset)


def image_rank(dataset):
    """Rank of the image element of a `(image, labels)` dataset."""
    spec = dataset.element_spec
    image = spec[0] if isinstance(spec, (tuple, list)) else spec
    return len(image.shape)


def batch(dataset, batch_size):
    """(Re)batch an image dataset to `batch_size`; batched ones re-cut."""
    if image_rank(dataset) == 4:
        dataset = dataset.unbatch()
    return dataset.batch(batch_size)


def ensure_batched(dataset, batch_size):
    """Batch an unbatched dataset; leave a batched one as it is."""
    if image_rank(dataset) == 3:
        return dataset.batch(batch_size)
    return dataset


def select_labels(data, names):
    """Keep only the labels of tasks `names` in a dataset or `(x, y)`."""
    names = list(names)
    if is_dataset(data):

        def keep(x, y, *rest):
            return (x, {n: y[n] for n in names}) + tuple(rest)

        return data.map(keep)
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        x, y = data[0], data[1]
        return (x, {n: y[n] for n in names}) + tuple(data[2:])
    raise ValueError(
        "Data must be a tf.data.Dataset of (image, labels) or a tuple "
        f"(x, y). Received: data of type {type(data).__name__}"
    )


def as_batches(data, batch_size):
    """Endless iterator of `(x, y)` batches from a dataset or `(x, y)`."""
    if is_dataset(data):
        dataset = ensure_batched(data, batch_size)
        while True:
            count = 0
            for item in dataset:
                count += 1
                yield item[0], item[1]
            if count == 0:
                raise ValueError("The dataset is empty. Received: data=[]")
    x, y = data[0], data[1]
    n = len(x)
    if n == 0:
        raise ValueError("No samples. Received: len(x)=0")
    while True:
        for start in range(0, n, batch_size):
            sl = slice(start, min(start + batch_size, n))
            yield (
                np.asarray(x[sl]),
                {k: np.asarray(v[sl]) for k, v in y.items()},
            )
