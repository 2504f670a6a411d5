"""Fast Adaptive Multitask Optimization (Liu et al., 2023)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_OPTIMIZERS = ("adam", "sgd")
_BETA_1 = 0.9
_BETA_2 = 0.999
_ADAM_EPSILON = 1e-8
_LOSS_EPSILON = 1e-8


@WEIGHTINGS.register("famo")
@keras.saving.register_keras_serializable(package="mtlzoo")
class FAMO(Weighting):
    """FAMO: balances the tasks' log-loss decrease at O(1) cost per step.

    Task weights are `z = softmax(xi)` over the present tasks. The training
    loss is `sum_t w_t z_t log(L_t + eps) / c` with `c = sum_t z_t / (L_t +
    eps)` held constant, whose gradient is `sum_t (z_t / (c L_t)) grad L_t`
    (Algorithm 1 of the paper). The logits `xi` then move so that tasks
    whose log-loss decreased less get more weight:

    `delta = J_z(xi)^T (log L_prev - log L_now)`,
    `xi <- xi - learning_rate * (delta + weight_decay * xi)` (`"sgd"`, as in
    the paper), or one Adam step on `delta` with L2 `weight_decay` (`"adam"`,
    as in the authors' code, `torch.optim.Adam(lr, weight_decay)`).

    Variant: the paper and its code evaluate the losses on the *same* batch
    again after the parameter step (one extra forward pass). Here `L_prev`
    is the loss vector the previous step received, and the logits are
    updated at the start of the next step, before its loss is formed, so no
    extra forward pass is needed; the loss change then also contains the
    change of batch, which averages out over steps. A task enters the
    update only if present at both steps; its logit is otherwise untouched.
    `min_losses` of the paper is 0 (losses are assumed non-negative).

    `combine_losses` updates state: call it once per training step only
    (not in evaluation). The returned value is the log-scale FAMO
    objective, not a weighted sum of losses.

    Args:
        learning_rate: float. Step size of the logits (beta in the paper).
            Defaults to 0.025.
        weight_decay: float. Decay of the logits (gamma in the paper).
            Defaults to 0.01.
        optimizer: str. `"adam"` (authors' code) or `"sgd"` (the paper's
            Algorithm 1). Defaults to `"adam"`.

    Example:

    >>> model.compile(optimizer="adam", weighting=FAMO(weight_decay=0.001))

    Reference:
        - [Liu et al., 2023. FAMO: Fast Adaptive Multitask Optimization](
          https://arxiv.org/abs/2306.03792)
    """

    def __init__(
        self, learning_rate=0.025, weight_decay=0.01, optimizer="adam", **kw
    ):
        super().__init__(**kw)
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(
                "`learning_rate` must be a positive number. "
                f"Received: learning_rate={learning_rate!r}"
            )
        if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
            raise ValueError(
                "`weight_decay` must be a non-negative number. "
                f"Received: weight_decay={weight_decay!r}"
            )
        if optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"`optimizer` must be one of {list(_OPTIMIZERS)}. "
                f"Received: optimizer={optimizer!r}"
            )
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.optimizer = optimizer

    def build_state(self, num_tasks):
        def state(name, initializer="zeros", shape=(num_tasks,)):
            return self.add_weight(
                shape=shape,
                initializer=initializer,
                trainable=False,
                name=name,
                aggregation="only_first_replica",
            )

        self.logits = state("logits")
        self.previous_losses = state("previous_losses")
        self.has_previous = state("has_previous")
        self.first_moment = state("first_moment")
        self.second_moment = state("second_moment")
        self.iterations = state("iterations", shape=())

    def task_probabilities(self, present):
        """Current `z = softmax(xi)` over the present tasks."""
        mask = tf.cast(tf.reshape(present, [-1]) > 0, tf.float32)
        return _utils.masked_softmax(tf.cast(self.logits, tf.float32), mask)

    def _update_logits(self, losses, mask):
        """One logit step from the log-loss change since the last step."""
        update = tf.cast(self.has_previous, tf.float32) * mask
        z = _utils.masked_softmax(self.logits, update)
        delta = tf.math.log(self.previous_losses + _LOSS_EPSILON) - tf.math.log(
            losses + _LOSS_EPSILON
        )
        delta = tf.where(update > 0, delta, tf.zeros_like(delta))
        # Jacobian-vector product of the softmax: J_z^T delta.
        grad = z * (delta - tf.reduce_sum(z * delta))
        grad = grad + self.weight_decay * self.logits
        if self.optimizer == "sgd":
            step = self.learning_rate * grad
        else:
            iterations = self.iterations + tf.reduce_max(update)
            m = _BETA_1 * self.first_moment + (1.0 - _BETA_1) * grad
            v = _BETA_2 * self.second_moment + (1.0 - _BETA_2) * grad**2
            m = tf.where(update > 0, m, self.first_moment)
            v = tf.where(update > 0, v, self.second_moment)
            t = tf.maximum(iterations, 1.0)
            m_hat = m / (1.0 - _BETA_1**t)
            v_hat = v / (1.0 - _BETA_2**t)
            step = self.learning_rate * m_hat / (tf.sqrt(v_hat) + _ADAM_EPSILON)
            self.first_moment.assign(m)
            self.second_moment.assign(v)
            self.iterations.assign(iterations)
        step = tf.where(update > 0, step, tf.zeros_like(step))
        self.logits.assign(self.logits - step)
        self.previous_losses.assign(
            tf.where(mask > 0, losses, self.previous_losses)
        )
        self.has_previous.assign(tf.maximum(self.has_previous, mask))

    def combine_losses(self, losses, weights, present):
        losses = tf.cast(tf.reshape(losses, [-1]), tf.float32)
        weights = tf.cast(tf.reshape(weights, [-1]), tf.float32)
        mask = tf.cast(tf.reshape(present, [-1]) > 0, tf.float32)
        # Losses are assumed >= 0 (min_losses = 0); clip so a stray negative
        # value cannot give log(<0) = NaN.
        safe = tf.maximum(tf.where(mask > 0, losses, tf.ones_like(losses)), 0.0)
        # Under tf.distribute the state update and the log-loss gradient
        # use the whole batch's losses, so replicas agree with one device.
        whole = tf.stop_gradient(_replica_mean(safe))
        self._update_logits(whole, mask)
        z = _utils.masked_softmax(tf.cast(self.logits, tf.float32), mask)
        shifted = safe + _LOSS_EPSILON
        anchor = whole + _LOSS_EPSILON
        c = tf.reduce_sum(z / anchor)
        # Value log(L) and gradient grad(L) / L at the whole-batch loss.
        log_loss = shifted / anchor + tf.math.log(anchor) - 1.0
        terms = weights * z * log_loss / tf.maximum(c, 1e-12)
        return tf.reduce_sum(tf.where(mask > 0, terms, tf.zeros_like(terms)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay,
                "optimizer": self.optimizer,
            }
        )
        return config


def _replica_mean(values):
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values
    return ctx.all_reduce("mean", values)
