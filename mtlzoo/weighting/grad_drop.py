"""GradDrop: gradient sign dropout (Chen et al., 2020)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_PURITY_EPSILON = 1e-7
_PURITIES = ("batch", "coordinate")


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

    For every coordinate, the sign purity
    `P = 0.5 * (1 + sum_t s_t / sum_t |s_t|)` is the probability of keeping
    the positive components; with `U ~ Uniform(0, 1)` drawn per coordinate
    and step, task t's gradient there is kept if `s_t > 0 and P > U` or
    `s_t < 0 and P < U`. The update is
    `sum_t (leak_t g_t + (1 - leak_t) mask_t g_t)`. Absent tasks' rows are
    zero, so they change neither `P` nor the sum.

    What `s_t` is depends on `purity`:

    - `"batch"` (the paper's form and LibMTL's; the default), with
      `representation_gradients=True`: the coordinates are the features of
      the shared representation, and `s_t = sum_batch sign(A) * dL_t/dA`,
      the gradient with respect to the activations `A` times their sign,
      summed over the batch (and over replicas under `tf.distribute`).
      The mask of a feature applies to all of the batch's samples.
    - `"coordinate"`: `s_t = g_t` per coordinate of the flattened `(T, D)`
      gradients the contract passes: per sample and feature with
      `representation_gradients=True` (mtlzoo's earlier form).

    With parameter gradients (`representation_gradients=False`, the
    default) there is no batch axis: the purity is taken per shared
    parameter, whatever `purity` says.

    Args:
        leak: float in [0, 1], or a list of them, one per task in the model's
            order. Fraction of each task's gradient that bypasses the drop.
            Defaults to 0.0.
        purity: str. `"batch"` or `"coordinate"`, see above. Defaults to
            `"batch"`.
        seed: int or None. Seed of `U`. Defaults to None.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=GradDrop(
    ...     leak=0.1, representation_gradients=True))

    Reference:
        - [Chen et al., 2020. Just Pick a Sign: Optimizing Deep Multitask
          Models with Gradient Sign Dropout](
          https://arxiv.org/abs/2010.06808)
    """

    requires_gradients = True

    def __init__(self, leak=0.0, purity="batch", seed=None, **kwargs):
        super().__init__(**kwargs)
        if purity not in _PURITIES:
            raise ValueError(
                f"`purity` must be one of {list(_PURITIES)}. "
                f"Received: purity={purity!r}"
            )
        self.purity = purity
        if isinstance(leak, (list, tuple)):
            for index, value in enumerate(leak):
                _check_leak(value, f"leak[{index}]")
            leak = [float(value) for value in leak]
        else:
            _check_leak(leak, "leak")
            leak = float(leak)
        self.leak = leak
        self.seed = seed

    def setup(self, task_names, task_weights, tasks=None):
        if isinstance(self.leak, list) and len(self.leak) != len(task_names):
            raise ValueError(
                f"`leak` has {len(self.leak)} values; the model has "
                f"{len(task_names)} tasks {list(task_names)}. "
                f"Received: leak={self.leak}"
            )
        super().setup(task_names, task_weights, tasks=tasks)

    def build_state(self, num_tasks):
        self.seed_generator = keras.random.SeedGenerator(
            self.seed, name="grad_drop_seed_generator"
        )

    @property
    def uses_features(self):
        """True when the train step must call `combine_feature_gradients`
        (the paper's batch purity on the shared representation)."""
        return self.representation_gradients and self.purity == "batch"

    def combine_gradients(self, grads, losses, weights, present):
        """Per-coordinate GradDrop of the `(T, D)` matrix (see the class
        docstring; the batch purity needs `combine_feature_gradients`)."""
        count = _utils.num_tasks(grads)
        masked, _ = _utils.masked_rows(grads, present)
        keep = self._keep(masked, masked)
        return tf.cast(self._apply(masked, keep, count), grads.dtype)

    def combine_feature_gradients(
        self, grads, features, losses, weights, present
    ):
        """The paper's GradDrop on gradients with respect to features.

        Args:
            grads: list of `(T, batch, ...)` tensors, the task gradients
                with respect to each shared feature tensor.
            features: list of `(batch, ...)` tensors, the activations.
            losses: `(T,)` task losses.
            weights: `(T,)` task weights.
            present: `(T,)` presence mask.

        Returns:
            A list of `(batch, ...)` tensors, the update of each feature
            tensor.
        """
        count = _utils.num_tasks(grads[0])
        dtypes = [g.dtype for g in grads]
        keep_row = tf.reshape(tf.cast(present, tf.float32) > 0, [-1])
        rows, sums = [], []
        for g, a in zip(grads, features):
            g = tf.cast(g, tf.float32)
            g = tf.where(
                tf.reshape(keep_row, [count] + [1] * (g.shape.rank - 1)),
                g,
                tf.zeros_like(g),
            )
            rows.append(g)
            signed = g * tf.sign(tf.cast(a, tf.float32))[None]
            sums.append(tf.reshape(tf.reduce_sum(signed, axis=1), [count, -1]))
        sizes = [tf.shape(s)[1] for s in sums]
        summed = tf.concat(sums, axis=1)
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            summed = ctx.all_reduce("sum", summed)
        keep = self._keep(summed, summed)
        factor = self._factor(keep, count)
        out = []
        for g, f in zip(rows, tf.split(factor, tf.stack(sizes), axis=1)):
            f = tf.reshape(f, tf.concat([[count, 1], tf.shape(g)[2:]], 0))
            out.append(tf.reduce_sum(f * g, axis=0))
        return [tf.cast(o, d) for o, d in zip(out, dtypes)]

    def _keep(self, signs, values):
        """`(T, D)` bool: which `values` survive, from the purity of
        `signs` and one uniform draw per coordinate."""
        total = tf.reduce_sum(signs, axis=0)
        magnitude = tf.reduce_sum(tf.abs(signs), axis=0)
        purity = 0.5 * (1.0 + total / (magnitude + _PURITY_EPSILON))
        seed = _utils.random_seed(self.seed_generator)
        uniform = tf.random.stateless_uniform(tf.shape(purity), seed=seed)
        keep_positive = purity > uniform
        keep_negative = purity < uniform
        return ((values > 0) & keep_positive[None]) | (
            (values < 0) & keep_negative[None]
        )

    def _factor(self, keep, count):
        """`(T, D)` multiplier: `leak + (1 - leak) * keep`."""
        keep = tf.cast(keep, tf.float32)
        if isinstance(self.leak, float) and self.leak == 0.0:
            return keep
        leak = tf.reshape(
            tf.broadcast_to(tf.constant(self.leak, tf.float32), [count]),
            [count, 1],
        )
        return leak + (1.0 - leak) * keep

    def _apply(self, masked, keep, count):
        if isinstance(self.leak, float) and self.leak == 0.0:
            return tf.reduce_sum(
                tf.where(keep, masked, tf.zeros_like(masked)), axis=0
            )
        return tf.reduce_sum(self._factor(keep, count) * masked, axis=0)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"leak": self.leak, "purity": self.purity, "seed": self.seed}
        )
        return config
