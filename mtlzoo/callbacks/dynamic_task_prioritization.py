"""Dynamic Task Prioritization (Guo et al., 2018), as a callback."""

import keras

from mtlzoo.callbacks._method_callback import MethodCallback
from mtlzoo.weighting import dtp
from mtlzoo.weighting.dtp import DEFAULT_KPIS  # noqa: F401


@keras.saving.register_keras_serializable(package="mtlzoo")
class DynamicTaskPrioritization(MethodCallback):
    """Gives more weight to the tasks that perform worse (focal weighting).

    The rule of `mtlzoo.weighting.DynamicTaskPrioritization` (see there),
    applied to the task weights of a model compiled with any weighting
    method, starting over at every `fit`: at the end of every epoch each
    prioritised task gets the weight `w_t = -(1 - k_t)^gamma * log(k_t)`,
    `k_t` its (smoothed) key performance indicator.

    Args:
        gamma: float. Focusing parameter; 0 gives `-log(k)`. Defaults to 2.0.
        kpi: dict or None. Task name -> log key of its KPI, e.g.
            `{"garment": "garment_accuracy"}`; only the tasks named are
            reweighted. With None every task is reweighted, using the first
            of `<task>_accuracy`, `<task>_sparse_categorical_accuracy`,
            `<task>_categorical_accuracy`, `<task>_binary_accuracy`,
            `<task>_mean_iou`, `<task>_iou` found in the logs. Defaults to
            None.
        momentum: float in [0, 1). Smoothing of the KPI across epochs; 0
            uses the last epoch's value. Defaults to 0.0.

    Example:

    >>> model.fit(ds, epochs=10, callbacks=[DynamicTaskPrioritization(
    ...     gamma=2.0, kpi={"garment": "garment_accuracy"})])

    Reference:
        - Guo et al., 2018. Dynamic Task Prioritization for Multitask
          Learning. ECCV 2018.
    """

    method_class = dtp.DynamicTaskPrioritization

    def __init__(self, gamma=2.0, kpi=None, momentum=0.0):
        super().__init__(gamma=gamma, kpi=kpi, momentum=momentum)
        self.gamma = self.method.gamma
        self.kpi = None if kpi is None else dict(kpi)
        self.momentum = self.method.momentum

    def kpi_keys(self, logs):
        """Task name -> log key of its KPI."""
        if self.kpi is None:
            self.bind()
        return self.method.kpi_keys(logs)

    def priority(self, kpi):
        """The focal weight `-(1 - k)^gamma log(k)` of one KPI value."""
        return self.method.priority(kpi)

    def get_config(self):
        return {"gamma": self.gamma, "kpi": self.kpi, "momentum": self.momentum}
