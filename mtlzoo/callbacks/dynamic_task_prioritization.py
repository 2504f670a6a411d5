"""Dynamic Task Prioritization (Guo et al., 2018)."""

import math

import keras

from mtlzoo.callbacks import _task_weights

# Log suffixes tried, in order, when no KPI is named for a task.
DEFAULT_KPIS = (
    "accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
    "mean_iou",
    "iou",
)
_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="mtlzoo")
class DynamicTaskPrioritization(keras.callbacks.Callback):
    """Gives more weight to the tasks that perform worse (focal weighting).

    At the end of every epoch each prioritised task gets the weight

    `w_t = -(1 - k_t)^gamma * log(k_t)`

    where `k_t` in [0, 1] is the task's key performance indicator (higher
    is better, e.g. accuracy), optionally smoothed over epochs:
    `k_t <- momentum * k_t(previous) + (1 - momentum) * k_t(logs)`. A task
    at `k = 1` gets weight 0; `k` is clipped at 1e-7 so a task at 0 gets a
    large, finite weight. Before the first epoch ends the weights are left
    as they are.

    Args:
        gamma: float. Focusing parameter; 0 gives `-log(k)`. Defaults to 2.0.
        kpi: dict or None. Task name -> log key of its KPI, e.g.
            `{"garment": "garment_accuracy"}`; only the tasks named are
            reweighted, the others keep their weights. With None every task
            is reweighted, using the first of `<task>_accuracy`,
            `<task>_sparse_categorical_accuracy`, `<task>_categorical_accuracy`,
            `<task>_binary_accuracy`, `<task>_mean_iou`, `<task>_iou` found in
            the logs (an error names a task with none of them: name a KPI
            for it, or leave it out of `kpi`). Defaults to None.
        momentum: float in [0, 1). Smoothing of the KPI across epochs; 0
            uses the last epoch's value. Defaults to 0.0.

    Example:

    >>> model.fit(ds, epochs=10, callbacks=[DynamicTaskPrioritization(
    ...     gamma=2.0, kpi={"garment": "garment_accuracy"})])

    Reference:
        - Guo et al., 2018. Dynamic Task Prioritization for Multitask
          Learning. ECCV 2018.
    """

    def __init__(self, gamma=2.0, kpi=None, momentum=0.0):
        super().__init__()
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)):
            raise ValueError(
                f"`gamma` must be a number. Received: gamma={gamma!r}"
            )
        if gamma < 0:
            raise ValueError(
                f"`gamma` must be non-negative. Received: gamma={gamma!r}"
            )
        if kpi is not None and not (
            isinstance(kpi, dict)
            and kpi
            and all(isinstance(v, str) for v in kpi.values())
        ):
            raise ValueError(
                "`kpi` must be None or a non-empty dict of task name -> log "
                f"key (str). Received: kpi={kpi!r}"
            )
        if not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(
                f"`momentum` must be in [0, 1). Received: momentum={momentum!r}"
            )
        self.gamma = float(gamma)
        self.kpi = None if kpi is None else dict(kpi)
        self.momentum = float(momentum)
        self.smoothed = {}

    def on_train_begin(self, logs=None):
        names = _task_weights.task_names(self)
        unknown = sorted(set(self.kpi or {}) - set(names))
        if unknown:
            raise ValueError(
                f"DynamicTaskPrioritization names unknown tasks {unknown}; "
                f"the model has {names}. Received: kpi={self.kpi}"
            )
        self.smoothed = {}

    def kpi_keys(self, logs):
        """Task name -> log key of its KPI."""
        if self.kpi is not None:
            return dict(self.kpi)
        keys = {}
        for task in _task_weights.task_names(self):
            tried = [f"{task}_{suffix}" for suffix in DEFAULT_KPIS]
            found = [key for key in tried if key in logs]
            if not found:
                raise ValueError(
                    f"DynamicTaskPrioritization found no KPI for task "
                    f"'{task}' (tried {tried}); "
                    "pass `kpi={task: log_key}` naming the tasks to "
                    f"prioritise. Received: logs keys={sorted(logs)}"
                )
            keys[task] = found[0]
        return keys

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        keys = self.kpi_keys(logs)
        values = _task_weights.read_task_logs(self, logs, keys)
        weights = {}
        for task, value in values.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"The KPI of task '{task}' ('{keys[task]}') must be in "
                    f"[0, 1]. Received: {keys[task]}={value!r}"
                )
            if task in self.smoothed:
                value = (
                    self.momentum * self.smoothed[task]
                    + (1.0 - self.momentum) * value
                )
            self.smoothed[task] = value
            weights[task] = self.priority(value)
        _task_weights.assign_task_weights(self, weights)

    def priority(self, kpi):
        """The focal weight `-(1 - k)^gamma log(k)` of one KPI value."""
        kpi = min(max(kpi, _EPSILON), 1.0)
        return (1.0 - kpi) ** self.gamma * math.log(1.0 / kpi)

    def get_config(self):
        return {"gamma": self.gamma, "kpi": self.kpi, "momentum": self.momentum}
