"""Dynamic Weight Averaging (Liu et al., 2019)."""

import math

import keras

from mtlzoo.weighting import _logs
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting


@WEIGHTINGS.register("dwa", aliases=("dynamic_weight_averaging",))
@keras.saving.register_keras_serializable(
    package="mtlzoo", name="DynamicWeightAveragingMethod"
)
class DynamicWeightAveraging(Weighting):
    """Weights tasks by how slowly their loss went down last epoch.

    After epoch `e` (counting from 1) the weights for epoch `e + 1` are

    `w_t = K exp(r_t / T) / sum_k exp(r_k / T)`,
    `r_t = L_t(e) / L_t(e - 1)`,

    with `K` the number of tasks, `T` the temperature and `L_t(e)` the
    epoch's mean training loss of task t (`<task>_loss` in the logs). The
    first two epochs use weight 1 for every task. The weights are assigned
    to the model's task-weight variables at the end of an epoch (by the
    callback `callbacks()` returns, which `fit` adds), so they take effect
    at the next training step without recompiling; the step itself is the
    weighted sum of the task losses.

    The last two epochs' losses and the number of epochs seen are Keras
    variables, saved with the model: a second `fit` (or a reloaded model)
    continues where training stopped; `reset_state()` starts over.
    `mtlzoo.callbacks.DynamicWeightAveraging` applies the same rule to any
    model, with any other weighting method, starting over at every `fit`.

    Args:
        temperature: float. Softness of the weighting; large values give
            equal weights. Defaults to 2.0.
        representation_gradients: bool. Unused (a loss-level method).

    Example:

    >>> model.compile(optimizer="adam", weighting="dwa")
    >>> model.fit(ds, epochs=10)

    Reference:
        - [Liu et al., 2019. End-to-End Multi-Task Learning with Attention](
          https://arxiv.org/abs/1803.10704)
    """

    def __init__(self, temperature=2.0, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or temperature <= 0
        ):
            raise ValueError(
                "`temperature` must be a positive number. "
                f"Received: temperature={temperature!r}"
            )
        self.temperature = float(temperature)

    def build_state(self, num_tasks):
        self.loss_history = self.add_weight(
            shape=(2, num_tasks),
            dtype="float64",
            initializer="zeros",
            trainable=False,
            name="loss_history",
            aggregation="only_first_replica",
        )
        self.epochs_seen = self.add_weight(
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            name="epochs_seen",
            aggregation="only_first_replica",
        )

    def reset_state(self):
        if self.built:
            self.loss_history.assign(keras.ops.zeros_like(self.loss_history))
            self.epochs_seen.assign(0)

    def on_train_begin(self, logs=None):
        _logs.check_setup(self)
        if int(self.epochs_seen.numpy()) == 0:
            _logs.assign_task_weights(self, {t: 1.0 for t in self.task_names})

    def on_epoch_end(self, epoch, logs=None):
        _logs.check_setup(self)
        names = self.task_names
        keys = {task: f"{task}_loss" for task in names}
        newer = _logs.read_task_logs(self, logs, keys)
        previous = self.loss_history.numpy()[1]
        self.loss_history.assign([previous, [newer[t] for t in names]])
        seen = int(self.epochs_seen.numpy()) + 1
        self.epochs_seen.assign(seen)
        if seen < 2:
            return
        older = {task: float(value) for task, value in zip(names, previous)}
        _logs.assign_task_weights(self, self.weights_from(older, newer))

    def weights_from(self, older, newer):
        """Weights from two epochs' losses (task name -> float dicts)."""
        ratios = {task: newer[task] / max(older[task], 1e-12) for task in newer}
        top = max(ratios.values())
        exps = {
            task: math.exp((ratio - top) / self.temperature)
            for task, ratio in ratios.items()
        }
        total = sum(exps.values())
        return {task: len(exps) * value / total for task, value in exps.items()}

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
