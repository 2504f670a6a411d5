"""Dynamic Weight Averaging (Liu et al., 2019)."""

import math

import keras

from mtlzoo.callbacks import _task_weights


@keras.saving.register_keras_serializable(package="mtlzoo")
class DynamicWeightAveraging(keras.callbacks.Callback):
    """Weights tasks by how slowly their loss went down last epoch.

    After epoch `e` (counting from 1) the weights for epoch `e + 1` are

    `w_t = K exp(r_t / T) / sum_k exp(r_k / T)`,
    `r_t = L_t(e) / L_t(e - 1)`,

    with `K` the number of tasks, `T` the temperature and `L_t(e)` the
    epoch's mean training loss of task t (`<task>_loss` in the logs). The
    first two epochs use weight 1 for every task. The weights are assigned
    to the model's task-weight variables, so they take effect at the next
    training step without recompiling.

    Args:
        temperature: float. Softness of the weighting; large values give
            equal weights. Defaults to 2.0.

    Example:

    >>> model.fit(ds, epochs=10,
    ...           callbacks=[DynamicWeightAveraging(temperature=2.0)])

    Reference:
        - [Liu et al., 2019. End-to-End Multi-Task Learning with Attention](
          https://arxiv.org/abs/1803.10704)
    """

    def __init__(self, temperature=2.0):
        super().__init__()
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
        self.loss_history = []

    def on_train_begin(self, logs=None):
        names = _task_weights.task_names(self)
        self.loss_history = []
        _task_weights.assign_task_weights(self, {t: 1.0 for t in names})

    def on_epoch_end(self, epoch, logs=None):
        names = _task_weights.task_names(self)
        keys = {task: f"{task}_loss" for task in names}
        self.loss_history.append(_task_weights.read_task_logs(self, logs, keys))
        if len(self.loss_history) < 2:
            return
        self.loss_history = self.loss_history[-2:]
        weights = self.weights_from(self.loss_history[0], self.loss_history[1])
        _task_weights.assign_task_weights(self, weights)

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
        return {"temperature": self.temperature}
