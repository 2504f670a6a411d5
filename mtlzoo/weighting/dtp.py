"""Dynamic Task Prioritization (Guo et al., 2018)."""

import math

import keras
import numpy as np

from mtlzoo.weighting import _logs
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

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


@WEIGHTINGS.register("dtp", aliases=("dynamic_task_prioritization",))
@keras.saving.register_keras_serializable(
    package="mtlzoo", name="DynamicTaskPrioritizationMethod"
)
class DynamicTaskPrioritization(Weighting):
    """Gives more weight to the tasks that perform worse (focal weighting).

    At the end of every epoch each prioritised task gets the weight

    `w_t = -(1 - k_t)^gamma * log(k_t)`

    where `k_t` in [0, 1] is the task's key performance indicator (higher
    is better, e.g. accuracy), optionally smoothed over epochs:
    `k_t <- momentum * k_t(previous) + (1 - momentum) * k_t(logs)`. A task
    at `k = 1` gets weight 0; `k` is clipped at 1e-7 so a task at 0 gets a
    large, finite weight. Before the first epoch ends the weights are left
    as they are. The weights are assigned to the model's task-weight
    variables by the callback `callbacks()` returns (`fit` adds it); the
    step is the weighted sum of the task losses.

    The smoothed KPIs are Keras variables, saved with the model, and kept
    across `fit` calls (`reset_state()` forgets them).
    `mtlzoo.callbacks.DynamicTaskPrioritization` applies the same rule to
    any model, with any other weighting method.

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
        representation_gradients: bool. Unused (a loss-level method).

    Example:

    >>> model.compile(optimizer="adam", weighting=DynamicTaskPrioritization(
    ...     gamma=2.0, kpi={"garment": "garment_accuracy"}))

    Reference:
        - Guo et al., 2018. Dynamic Task Prioritization for Multitask
          Learning. ECCV 2018.
    """

    def __init__(self, gamma=2.0, kpi=None, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
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

    def setup(self, task_names, task_weights, tasks=None):
        unknown = sorted(set(self.kpi or {}) - set(task_names))
        if unknown:
            raise ValueError(
                f"DynamicTaskPrioritization names unknown tasks {unknown}; "
                f"the model has {list(task_names)}. Received: kpi={self.kpi}"
            )
        super().setup(task_names, task_weights, tasks=tasks)

    def build_state(self, num_tasks):
        def state(name):
            return self.add_weight(
                shape=(num_tasks,),
                dtype="float64",
                initializer="zeros",
                trainable=False,
                name=name,
                aggregation="only_first_replica",
            )

        self.smoothed_kpi = state("smoothed_kpi")
        self.has_smoothed_kpi = state("has_smoothed_kpi")

    def reset_state(self):
        if self.built:
            zeros = np.zeros(self.smoothed_kpi.shape, "float64")
            self.smoothed_kpi.assign(zeros)
            self.has_smoothed_kpi.assign(zeros)

    def kpi_keys(self, logs):
        """Task name -> log key of its KPI."""
        if self.kpi is not None:
            return dict(self.kpi)
        _logs.check_setup(self)
        keys = {}
        for task in self.task_names:
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
        _logs.check_setup(self)
        logs = logs or {}
        keys = self.kpi_keys(logs)
        values = _logs.read_task_logs(self, logs, keys)
        smoothed = self.smoothed_kpi.numpy().copy()
        seen = self.has_smoothed_kpi.numpy().copy()
        weights = {}
        for task, value in values.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"The KPI of task '{task}' ('{keys[task]}') must be in "
                    f"[0, 1]. Received: {keys[task]}={value!r}"
                )
            index = self.task_names.index(task)
            if seen[index]:
                value = (
                    self.momentum * float(smoothed[index])
                    + (1.0 - self.momentum) * value
                )
            smoothed[index], seen[index] = value, 1.0
            weights[task] = self.priority(value)
        self.smoothed_kpi.assign(smoothed)
        self.has_smoothed_kpi.assign(seen)
        _logs.assign_task_weights(self, weights)

    def priority(self, kpi):
        """The focal weight `-(1 - k)^gamma log(k)` of one KPI value."""
        kpi = min(max(kpi, _EPSILON), 1.0)
        return (1.0 - kpi) ** self.gamma * math.log(1.0 / kpi)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "gamma": self.gamma,
                "kpi": None if self.kpi is None else dict(self.kpi),
                "momentum": self.momentum,
            }
        )
        return config
