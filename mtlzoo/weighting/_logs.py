"""Helpers of the methods that read `fit`'s logs and assign task weights
from the host (DWA, DTP, RLW)."""


def check_setup(method):
    """Fail clearly when `method` is not bound to a model's tasks."""
    if method.task_weights is None:
        raise ValueError(
            f"{type(method).__name__} assigns the model's task weights: "
            "compile the model with it (or call "
            "`setup(task_names, task_weights)`) first. "
            f"Received: task_weights={method.task_weights}"
        )


def read_task_logs(owner, logs, keys):
    """Values of `logs[keys[task]]` as floats, with a clear error.

    Args:
        owner: the calling method or callback (named in the message).
        logs: dict of logs Keras passes to the callbacks.
        keys: dict. Task name -> log key to read.
    """
    logs = logs or {}
    values = {}
    for task, key in keys.items():
        if key not in logs:
            raise ValueError(
                f"{type(owner).__name__} needs '{key}' for task "
                f"'{task}' in the logs, which lack it. "
                f"Received: logs keys={sorted(logs)}"
            )
        values[task] = float(logs[key])
    return values


def assign_task_weights(method, values):
    """Assign `values` (task name -> float) to the task-weight variables
    `method` is bound to; tasks not named keep their weight."""
    check_setup(method)
    for name, variable in zip(method.task_names, method.task_weights):
        if name in values:
            variable.assign(values[name])
