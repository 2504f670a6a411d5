"""GradNorm: gradient normalisation (Chen et al., 2018)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting


@WEIGHTINGS.register("grad_norm", aliases=("gradnorm",))
@keras.saving.register_keras_serializable(package="mtlzoo")
class GradNorm(Weighting):
    """Learns task weights that equalise the tasks' training rates.

    The shared update is the plain sum of the (weighted) task gradients.
    After it, the model's task weights `w_t` take one step on the GradNorm
    loss `sum_t |G_t - mean(G) * r_t^alpha|`, where `G_t = ||grad(w_t L_t)||`
    is the norm of task t's weighted gradient on the shared part (the
    contract's `grads` rows play the paper's "last shared layer"; with
    `representation_gradients=True` they are gradients w.r.t. the shared
    features), `r_t = (L_t / L_t(0)) / mean(L / L(0))` is the relative
    inverse training rate, and the target `mean(G) r_t^alpha` is held
    constant. Its gradient is `sign(G_t - target_t) * ||grad L_t||`. The
    step is taken with plain gradient descent on that loss divided by
    `mean(G)`, so `learning_rate` does not depend on the gradients' scale.
    The weights are then clipped at `min_weight` and renormalised so that
    all task weights again sum to the number of tasks (absent tasks keep
    their weight; the present ones share the rest).

    `L_t(0)` is the task's loss at the first step where it is present. The
    new weights take effect at the next step. Gradients with
    `present == 0` neither move nor count in the means.

    Args:
        alpha: float. Asymmetry: higher pulls harder toward equal training
            rates. Defaults to 1.5.
        learning_rate: float. Step size of the weights on the normalised
            GradNorm loss. Defaults to 0.025.
        min_weight: float. Lower bound of a weight before renormalisation.
            Defaults to 1e-3.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=GradNorm(alpha=1.5))

    Reference:
        - [Chen et al., 2018. GradNorm: Gradient Normalization for Adaptive
          Loss Balancing in Deep Multitask Networks](
          https://arxiv.org/abs/1711.02257)
    """

    requires_gradients = True
    gram_based = True

    def __init__(self, alpha=1.5, learning_rate=0.025, min_weight=1e-3, **kw):
        super().__init__(**kw)
        for name, value in (
            ("alpha", alpha),
            ("learning_rate", learning_rate),
            ("min_weight", min_weight),
        ):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"`{name}` must be a non-negative number. "
                    f"Received: {name}={value!r}"
                )
        self.alpha = float(alpha)
        self.learning_rate = float(learning_rate)
        self.min_weight = float(min_weight)

    def build_state(self, num_tasks):
        def state(name):
            return self.add_weight(
                shape=(num_tasks,),
                initializer="zeros",
                trainable=False,
                name=name,
                aggregation="only_first_replica",
            )

        self.initial_losses = state("initial_losses")
        self.has_initial = state("has_initial")

    def new_weights(self, grads, losses, weights, present):
        """`(T,)` task weights after one GradNorm step (no assignment)."""
        grads, mask = _utils.masked_rows(grads, present)
        return self._new_weights(_utils.gram(grads), losses, weights, mask)

    def _new_weights(self, gram, losses, weights, mask):
        mask = tf.cast(mask, tf.float32)
        count = tf.maximum(tf.reduce_sum(mask), 1.0)
        losses = tf.cast(tf.reshape(losses, [-1]), tf.float32)
        losses = tf.where(mask > 0, losses, tf.zeros_like(losses))
        weights = tf.cast(tf.reshape(weights, [-1]), tf.float32)
        first = mask * (1.0 - self.has_initial)
        initial = tf.where(first > 0, losses, self.initial_losses)
        self.initial_losses.assign(initial)
        self.has_initial.assign(tf.maximum(self.has_initial, mask))

        norms = tf.cast(
            tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0)), tf.float32
        )
        mean_norm = tf.reduce_sum(norms * mask) / count
        ratio = tf.math.divide_no_nan(losses, initial) * mask
        rate = tf.math.divide_no_nan(ratio, tf.reduce_sum(ratio) / count)
        target = mean_norm * tf.pow(rate, self.alpha)
        # d|G_t - target_t| / dw_t with G_t = w_t ||grad L_t||.
        raw_norms = norms / tf.maximum(tf.abs(weights), _utils.EPSILON)
        grad_w = tf.sign(norms - target) * raw_norms
        grad_w = tf.math.divide_no_nan(grad_w, mean_norm) * mask
        stepped = tf.maximum(
            weights - self.learning_rate * grad_w, self.min_weight
        )
        stepped = tf.where(mask > 0, stepped, weights)
        total = tf.cast(tf.size(weights), tf.float32)
        absent_total = tf.reduce_sum(weights * (1.0 - mask))
        present_total = tf.reduce_sum(stepped * mask)
        scale = tf.math.divide_no_nan(total - absent_total, present_total)
        return tf.where(mask > 0, stepped * scale, weights)

    def gram_coefficients(self, gram, losses, weights, mask):
        if self.task_weights is None:
            raise ValueError(
                "GradNorm assigns the model's task weights: call "
                "`setup(task_names, task_weights)` first. "
                f"Received: task_weights={self.task_weights}"
            )
        new = self._new_weights(gram, losses, weights, mask)
        for index, variable in enumerate(self.task_weights):
            variable.assign(tf.cast(new[index], variable.dtype))
        # The update is the plain sum; the new weights act from next step.
        return tf.cast(mask, tf.float64)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "learning_rate": self.learning_rate,
                "min_weight": self.min_weight,
            }
        )
        return config
