"""GradDrop: gradient sign dropout (Chen et al., 2020)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_PURITY_EPSILON = 1e-7


def _check_leak(value, name):
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"`leak` must be a number in [0, 1] or a list of them, one per "
            f"task. Received: {name}={value!r}"
        )


@WEIGHTINGS.register("grad_drop", aliases=("graddrop",))
@keras.saving.register_keras_serializable(package="mtlzoo")
class GradDrop(Weighting):
    """GradDrop: keeps, per coordinate, only one sign of the task gradients.

    For every coordinate of the shared gradient, the sign purity
    `P = 0.5 * (1 + sum_t g_t / sum_t |g_t|)` is the probability of keeping
    the positive components; with `U ~ Uniform(0, 1)` drawn per coordinate
    and step, task t's component is kept if `g_t > 0 and P > U` or
    `g_t < 0 and P < U`. The update is
    `sum_t (leak_t g_t + (1 - leak_t) mask_t g_t)`. Absent tasks' rows are
    zero, so they change neither `P` nor the sum.

    The purity is computed per coordinate of the flattened `(T, D)`
    gradients given by the contract. The paper computes it on gradients
    w.r.t. activations summed over the batch (and multiplied by the sign of
    the activation); with `representation_gradients=True` the coordinates
    are per-sample activations instead, which is LibMTL's choice.

    Args:
        leak: float in [0, 1], or a list of them, one per task in the model's
            order. Fraction of each task's gradient that bypasses the drop.
            Defaults to 0.0.
        seed: int or None. Seed of `U`. Defaults to None.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=GradDrop(leak=0.1))

    Reference:
        - [Chen et al., 2020. Just Pick a Sign: Optimizing Deep Multitask
          Models with Gradient Sign Dropout](
          https://arxiv.org/abs/2010.06808)
    """

    requires_gradients = True

    def __init__(self, leak=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(leak, (list, tuple)):
            for index, value in enumerate(leak):
                _check_leak(value, f"leak[{index}]")
            leak = [float(value) for value in leak]
        else:
            _check_leak(leak, "leak")
            leak = float(leak)
        self.leak = leak
        self.seed = seed

    def setup(self, task_names, task_weights):
        if isinstance(self.leak, list) and len(self.leak) != len(task_names):
            raise ValueError(
                f"`leak` has {len(self.leak)} values; the model has "
                f"{len(task_names)} tasks {list(task_names)}. "
                f"Received: leak={self.leak}"
            )
        super().setup(task_names, task_weights)

    def build_state(self, num_tasks):
        self.seed_generator = keras.random.SeedGenerator(
            self.seed, name="grad_drop_seed_generator"
        )

    def combine_gradients(self, grads, losses, weights, present):
        count = _utils.num_tasks(grads)
        masked, _ = _utils.masked_rows(grads, present)
        total = tf.reduce_sum(masked, axis=0)
        magnitude = tf.reduce_sum(tf.abs(masked), axis=0)
        purity = 0.5 * (1.0 + total / (magnitude + _PURITY_EPSILON))
        seed = _utils.random_seed(self.seed_generator)
        uniform = tf.random.stateless_uniform(tf.shape(purity), seed=seed)
        keep_positive = purity > uniform
        keep_negative = purity < uniform
        keep = ((masked > 0) & keep_positive[None]) | (
            (masked < 0) & keep_negative[None]
        )
        dropped = tf.where(keep, masked, tf.zeros_like(masked))
        leak = tf.reshape(
            tf.broadcast_to(tf.constant(self.leak, tf.float32), [count]),
            [count, 1],
        )
        if isinstance(self.leak, float) and self.leak == 0.0:
            update = tf.reduce_sum(dropped, axis=0)
        else:
            update = tf.reduce_sum(leak * masked + (1.0 - leak) * dropped, 0)
        return tf.cast(update, grads.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"leak": self.leak, "seed": self.seed})
        return config
