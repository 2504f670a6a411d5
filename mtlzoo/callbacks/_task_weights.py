"""Helpers shared by the loss-weighting callbacks."""


def task_names(callback):
    """The model's task names, checked against its task-weight variables."""
    model = callback.model
    names = getattr(model, "task_names", None)
    weights = getattr(model, "task_weights", None)
    if names is None or not isinstance(weights, dict):
        raise ValueError(
            f"{type(callback).__name__} needs a model with `task_names` and "
            "a `task_weights` dict (task name -> keras.Variable), such as "
            f"mtlzoo.MultiTaskModel. Received: model={type(model).__name__}"
        )
    return list(names)


def read_task_logs(callback, logs, keys):
    """Values of `logs[keys[task]]` as floats, with a clear error.

    Args:
        callback: the calling callback (named in the message).
        logs: dict of logs Keras passes to the callback.
        keys: dict. Task name -> log key to read.
    """
    logs = logs or {}
    values = {}
    for task, key in keys.items():
        if key not in logs:
            raise ValueError(
                f"{type(callback).__name__} needs '{key}' for task "
                f"'{task}' in the logs, which lack it. "
                f"Received: logs keys={sorted(logs)}"
            )
        values[task] = float(logs[key])
    return values


def assign_task_weights(callback, values):
    """Assign `values` (task name -> float) to the model's weight vars."""
    weights = callback.model.task_weights
    for task, value in values.items():
        weights[task].assign(value)
