"""Class names of a task, and predictions decoded to named classes."""

import numpy as np


def check_class_names(task, class_names):
    """`class_names` as a list of str (or None), checked against the task.

    Args:
        task: `mtlzoo.Task`. Its `num_classes` must be set (a kind with
            classes).
        class_names: None or a sequence of `num_classes` strings.
    """
    if class_names is None:
        return None
    if task.num_classes is None:
        raise ValueError(
            f"Task '{task.name}' of kind '{task.kind}' has no classes, so "
            f"it takes no class_names. Received: class_names={class_names!r}"
        )
    if isinstance(class_names, str) or not isinstance(
        class_names, (list, tuple, np.ndarray)
    ):
        raise TypeError(
            f"Task '{task.name}': class_names must be a list of str. "
            f"Received: class_names={class_names!r}"
        )
    names = list(class_names)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"Task '{task.name}': every class name must be a str. "
            f"Received: class_names={names!r}"
        )
    if len(names) != task.num_classes:
        raise ValueError(
            f"Task '{task.name}' has num_classes={task.num_classes} but "
            f"{len(names)} class names. Received: class_names={names!r}"
        )
    return names


def decode_predictions(task, outputs, top=3):
    """Per sample, the `top` classes with their scores, best first.

    See `Task.decode_predictions`.
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)):
        raise TypeError(f"`top` must be an int >= 1. Received: top={top!r}")
    if top < 1:
        raise ValueError(f"`top` must be an int >= 1. Received: top={top!r}")
    if task.num_classes is None:
        raise ValueError(
            f"Task '{task.name}' of kind '{task.kind}' has no classes to "
            f"decode. Received: task={task!r}"
        )
    if isinstance(outputs, dict):
        if task.name not in outputs:
            raise ValueError(
                f"The outputs hold no entry for task '{task.name}'. "
                f"Received: outputs keys={sorted(outputs)}"
            )
        outputs = outputs[task.name]
    outputs = np.asarray(outputs)
    per_sample = task.output_shape((1, 1, 1))
    if outputs.ndim != 1 + len(per_sample) or (
        outputs.shape[-1] != per_sample[-1]
    ):
        raise ValueError(
            f"decode_predictions needs a batch of task '{task.name}' "
            f"outputs, shaped (batch, ..., {per_sample[-1]}). "
            f"Received: outputs.shape={outputs.shape}"
        )
    names = task.class_names
    out = []
    for value in outputs:
        scores = np.asarray(task.class_scores(value), "float64")
        order = np.argsort(-scores, kind="stable")[:top]
        out.append(
            [(names[j] if names else int(j), float(scores[j])) for j in order]
        )
    return out
