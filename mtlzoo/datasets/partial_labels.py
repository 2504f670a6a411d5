"""Merge datasets labelled for different tasks, filling missing labels."""

import numpy as np
import tensorflow as tf

from mtlzoo.tasks import validate_tasks


def missing_value(task):
    """The fill value and dtype of a missing label of `task`.

    Returns:
        `(value, dtype)`: the task's `missing_label` and `label_dtype`,
        e.g. `(-1, tf.int32)` for classification and segmentation tasks,
        `(NaN, tf.float32)` for continuous kinds.
    """
    return task.missing_label, tf.as_dtype(task.label_dtype)


def _split_sources(datasets):
    if isinstance(datasets, tf.data.Dataset) or not isinstance(
        datasets, (list, tuple)
    ):
        raise ValueError(
            "`datasets` must be a list of tf.data.Dataset or of "
            f"(dataset, tasks) pairs. Received: datasets={datasets!r}"
        )
    if len(datasets) < 1:
        raise ValueError(
            f"`datasets` must not be empty. Received: datasets={datasets!r}"
        )
    sources, source_tasks = [], []
    for entry in datasets:
        if isinstance(entry, tuple) and len(entry) == 2:
            entry, tasks = entry
            source_tasks.append(validate_tasks(tasks))
        else:
            source_tasks.append(None)
        if not isinstance(entry, tf.data.Dataset):
            raise ValueError(
                "Every entry of `datasets` must be a tf.data.Dataset or a "
                f"(dataset, tasks) pair. Received: entry={entry!r}"
            )
        spec = entry.element_spec
        if not (
            isinstance(spec, tuple)
            and len(spec) == 2
            and isinstance(spec[1], dict)
        ):
            raise ValueError(
                "Every dataset must yield (image, {task_name: label}). "
                f"Received: element_spec={spec}"
            )
        sources.append(entry)
    return sources, source_tasks


def _union_tasks(source_tasks):
    merged = {}
    for tasks in source_tasks:
        for task in tasks or ():
            if task.name in merged and merged[task.name] != task:
                raise ValueError(
                    f"Task '{task.name}' is defined differently by two "
                    f"datasets. Received: {merged[task.name]} and {task}"
                )
            merged.setdefault(task.name, task)
    return list(merged.values())


def merge_partial(datasets, weights=None, tasks=None, seed=None):
    """Merge datasets labelled for different tasks into one stream.

    Each output example carries a label for every task: the source's own
    labels where it has them, and "missing" labels elsewhere, `-1` (int32)
    for classification and segmentation tasks and `NaN` (float32) for the
    others, shaped as `Task.label_shape(image_shape)`. Multi-task losses
    and metrics in mtlzoo skip missing labels, so a model can train on the
    union of, say, a dataset with masks and a larger one with classes only.
    Examples are drawn from the sources at random with
    `tf.data.Dataset.sample_from_datasets`, so `weights` sets how often each
    source is seen (the data-imbalance knob).

    Args:
        datasets: list. `tf.data.Dataset`s of `(image, {task: label})`, or
            `(dataset, tasks)` pairs as returned by the mtlzoo loaders.
            Unbatched or all batched; images must have the same shape.
        weights: list of float. Sampling probability of each source (any
            non-negative numbers, normalised). Defaults to None:
            proportional to the sources' sizes when all are known and
            finite, else uniform.
        tasks: list of `Task`. The tasks of the merged dataset. Defaults to
            None: the union of the tasks of the `(dataset, tasks)` pairs.
        seed: int. Seed of the source sampling (combined with TF's
            global seed). Defaults to None.

    Returns:
        `(dataset, tasks)`: the merged `tf.data.Dataset` and its `Task`s.
        The dataset ends when every source is exhausted.

    Example:

    >>> seg, seg_tasks = mtlzoo.datasets.shapes(
    ...     num_samples=64, size=32, tasks=["segmentation"])
    >>> cls, cls_tasks = mtlzoo.datasets.shapes(
    ...     num_samples=512, size=32, tasks=["shape"], seed=1)
    >>> ds, tasks = mtlzoo.datasets.merge_partial(
    ...     [(seg, seg_tasks), (cls, cls_tasks)], weights=[0.5, 0.5])
    """
    sources, source_tasks = _split_sources(datasets)
    if tasks is None:
        tasks = _union_tasks(source_tasks)
        if not tasks:
            raise ValueError(
                "Pass `tasks=` or (dataset, tasks) pairs so the merged "
                "dataset knows every task. Received: tasks=None"
            )
    tasks = validate_tasks(tasks)
    by_name = {t.name: t for t in tasks}
    image_specs = [ds.element_spec[0] for ds in sources]
    first = image_specs[0]
    if first.shape.rank not in (3, 4) or any(
        s.shape != first.shape for s in image_specs
    ):
        raise ValueError(
            "All datasets must yield images of one shape, (H, W, C) or "
            "batched (batch, H, W, C). Received: image shapes="
            f"{[tuple(s.shape) for s in image_specs]}"
        )
    batched = first.shape.rank == 4
    hw = tuple(first.shape[-3:-1])
    for i, ds in enumerate(sources):
        unknown = sorted(set(ds.element_spec[1]) - set(by_name))
        if unknown:
            raise ValueError(
                f"Dataset {i} has labels for tasks {unknown} that are not "
                f"in `tasks` {list(by_name)}. Received: tasks={tasks}"
            )
    weights = _weights(weights, sources)
    aligned = [_align(ds, tasks, hw, batched) for ds in sources]
    if len(aligned) == 1:
        return aligned[0], tasks
    merged = tf.data.Dataset.sample_from_datasets(
        aligned, weights=weights, seed=seed
    )
    return merged, tasks


def _weights(weights, sources):
    n = len(sources)
    if weights is None:
        sizes = [int(ds.cardinality()) for ds in sources]
        if all(s > 0 for s in sizes):
            return [s / sum(sizes) for s in sizes]
        return None
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            f"`weights` must be {n} finite non-negative numbers, one per "
            f"dataset. Received: weights={weights!r}"
        )
    if w.sum() <= 0:
        raise ValueError(
            f"`weights` must not all be zero. Received: weights={weights!r}"
        )
    return (w / w.sum()).tolist()


def _align(ds, tasks, hw, batched):
    """Give every example a label for each task (fills where missing)."""
    lead = (None,) if batched else ()
    for name, spec in ds.element_spec[1].items():
        task = next(t for t in tasks if t.name == name)
        expected = task.label_shape(hw)
        got = spec.shape[len(lead) :]
        if not got.is_fully_defined() or got.num_elements() != int(
            np.prod(expected)
        ):
            raise ValueError(
                f"Labels of task '{name}' must have shape {expected} per "
                f"example. Received: shape={tuple(spec.shape)}"
            )

    def fill(image, labels):
        batch = tf.shape(image)[:1] if batched else tf.zeros([0], tf.int32)
        out = {}
        for task in tasks:
            value, dtype = missing_value(task)
            shape = task.label_shape(hw)
            full = tf.concat([batch, tf.constant(shape, tf.int32)], 0)
            if task.name in labels:
                label = tf.cast(labels[task.name], dtype)
                label = tf.reshape(label, full)
            else:
                label = tf.fill(full, tf.constant(value, dtype))
            out[task.name] = tf.ensure_shape(label, lead + tuple(shape))
        return image, out

    return ds.map(fill, num_parallel_calls=tf.data.AUTOTUNE)
