"""Fixed task weights."""

import keras

from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting


@WEIGHTINGS.register("fixed")
@keras.saving.register_keras_serializable(package="mtlzoo")
class FixedWeighting(Weighting):
    """Weighted sum with fixed weights, set once on the task weights.

    Args:
        weights: dict. Task name -> non-negative float. Tasks not named keep
            their current weight.

    Example:

    >>> model.compile(optimizer="adam",
    ...               weighting=FixedWeighting({"mask": 0.5}))
    """

    def __init__(self, weights=None, **kwargs):
        super().__init__(**kwargs)
        weights = dict(weights or {})
        for name, value in weights.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"Fixed weight of task '{name}' must be a non-negative "
                    f"number. Received: weights[{name!r}]={value!r}"
                )
        self.weights_by_task = {k: float(v) for k, v in weights.items()}

    def setup(self, task_names, task_weights, tasks=None):
        unknown = sorted(set(self.weights_by_task) - set(task_names))
        if unknown:
            raise ValueError(
                f"FixedWeighting names unknown tasks {unknown}; the model has "
                f"{list(task_names)}. Received: weights={self.weights_by_task}"
            )
        super().setup(task_names, task_weights, tasks=tasks)
        for name, var in zip(task_names, task_weights):
            if name in self.weights_by_task:
                var.assign(self.weights_by_task[name])

    def get_config(self):
        config = super().get_config()
        config["weights"] = dict(self.weights_by_task)
        return config
