"""Labels and sample weights as dicts keyed by task, validated."""

import numpy as np


def standardize_labels(tasks, input_shape, y, sample_weight):
    """Labels and sample weights as dicts keyed by task; validated.

    Args:
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)` of the model input.
        y: dict task name -> labels; a single array for one task; or a
            list/tuple with one entry per task, in task order.
        sample_weight: None, dict task name -> `(batch,)` weights, or (one
            task only) a single array.

    Returns:
        `(y, sample_weights)`, two dicts keyed by task name (the second
        holds only the tasks that have sample weights).
    """
    names = [t.name for t in tasks]
    if y is None:
        raise ValueError(
            "Training needs labels: a dict task name -> labels. "
            "Received: y=None"
        )
    if not isinstance(y, dict):
        if len(names) == 1 and not isinstance(y, (list, tuple)):
            y = {names[0]: y}
        elif isinstance(y, (list, tuple)) and len(y) == len(names):
            y = dict(zip(names, y))
        else:
            raise ValueError(
                f"Labels must be a dict with one entry per task {names}. "
                f"Received: y of type {type(y).__name__}"
            )
    missing = [n for n in names if n not in y]
    extra = sorted(set(y) - set(names))
    if missing or extra:
        raise ValueError(
            f"The labels must have one key per task. Missing labels for "
            f"task(s) {missing}; unknown key(s) {extra}. "
            f"Received: label keys={sorted(y)}"
        )
    for task in tasks:
        label = y[task.name]
        task.validate_label_spec(tuple(label.shape), label.dtype, input_shape)
    return y, _standardize_sample_weight(names, sample_weight)


def _standardize_sample_weight(names, sample_weight):
    if sample_weight is None:
        return {}
    if isinstance(sample_weight, dict):
        extra = sorted(set(sample_weight) - set(names))
        if extra:
            raise ValueError(
                f"Sample weights name unknown task(s) {extra}; the "
                f"tasks are {names}. "
                f"Received: sample_weight keys={sorted(sample_weight)}"
            )
        return dict(sample_weight)
    if len(names) == 1:
        return {names[0]: sample_weight}
    raise ValueError(
        "With several tasks, sample weights must be a dict task "
        "name -> (batch,) weights. Received: sample_weight of type "
        f"{type(sample_weight).__name__}"
    )


def complete_sample_weight(names, sample_weight):
    """`fit`/`evaluate`'s `sample_weight` argument as Keras needs it.

    Keras wants one weight array per output when the labels are a dict; a
    dict naming only some tasks gives the others weight 1 (as in a
    dataset's `(x, y, sample_weight)` batches), and a key that is not a
    task is refused by name (Keras would print every label array).

    Args:
        names: list of task names.
        sample_weight: the argument given (None, an array, or a dict).

    Returns:
        `sample_weight`, with missing tasks filled with ones when it is a
        dict.
    """
    if not isinstance(sample_weight, dict):
        return sample_weight
    _standardize_sample_weight(names, sample_weight)
    if not sample_weight:
        return None
    sizes = {k: _length(v) for k, v in sample_weight.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            "The sample weights of every task must have one value per "
            f"sample. Received: sample_weight lengths={sizes}"
        )
    n = next(iter(sizes.values()))
    return {
        name: sample_weight[name]
        if name in sample_weight
        else np.ones((n,), "float32")
        for name in names
    }


def _length(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        value = np.asarray(value)
        shape = value.shape
    if not len(shape):
        raise ValueError(
            "Sample weights must be arrays with one value per sample. "
            f"Received: a scalar of type {type(value).__name__}"
        )
    return int(shape[0])
