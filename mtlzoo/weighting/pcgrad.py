"""PCGrad: projecting conflicting gradients (Yu et al., 2020)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_REDUCTIONS = ("sum", "mean")


@WEIGHTINGS.register("pcgrad")
@keras.saving.register_keras_serializable(package="mtlzoo")
class PCGrad(Weighting):
    """PCGrad: removes the conflicting component of each task gradient.

    For each present task i, `g_i` is projected, in a random order of the
    tasks drawn per task and per step, onto the normal plane of every
    present task gradient `g_j` it conflicts with:
    `g_i <- g_i - min(g_i . g_j, 0) / ||g_j||^2 g_j` (the `g_j` are the
    original gradients; `j = i` is a no-op, as in the authors' code). The
    update is the sum (or mean) of the projected gradients. Absent tasks
    are neither projected nor projected on.

    The projections are done on coefficients over the task gradients, from
    the `(T, T)` Gram matrix, so the cost is one Gram matrix plus one
    weighted sum of the `(T, D)` gradients.

    Args:
        reduction: str. `"sum"` (authors' TensorFlow code) or `"mean"` of
            the projected gradients. Defaults to `"sum"`.
        seed: int or None. Seed of the random task order. Defaults to None.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=PCGrad(seed=0))

    Reference:
        - [Yu et al., 2020. Gradient Surgery for Multi-Task Learning](
          https://arxiv.org/abs/2001.06782)
    """

    requires_gradients = True
    gram_based = True

    def __init__(self, reduction="sum", seed=None, **kwargs):
        super().__init__(**kwargs)
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"`reduction` must be one of {list(_REDUCTIONS)}. "
                f"Received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.seed = seed

    def build_state(self, num_tasks):
        self.seed_generator = keras.random.SeedGenerator(
            self.seed, name="pcgrad_seed_generator"
        )

    def coefficients(self, matrix, mask, order):
        """`(T,)` float64 weights of the original gradients whose sum is the
        PCGrad update, given the Gram matrix and an `(T, T)` int order
        (row i: the order in which task i is projected)."""
        count = order.shape[0]
        # Projections do not depend on the scale: make it about 1.
        matrix = _utils.normalize(_utils.restrict(matrix, mask))
        diag = tf.linalg.diag_part(matrix)
        # Row i holds the coefficients of the projected g_i.
        coefficients = tf.linalg.diag(mask)
        for position in range(count):
            pick = tf.one_hot(order[:, position], count, dtype=tf.float64)
            # (projected g_i) . g_j, with j = order[i, position].
            dots = tf.reduce_sum(tf.matmul(coefficients, matrix) * pick, 1)
            norms = tf.linalg.matvec(pick, diag)
            present = tf.linalg.matvec(pick, mask)
            conflict = (dots < 0.0) & (present > 0) & (norms > 0)
            shift = tf.where(
                conflict, dots / tf.maximum(norms, _utils.EPSILON), 0.0
            )
            coefficients = coefficients - shift[:, None] * pick
        alpha = tf.reduce_sum(coefficients * mask[:, None], axis=0)
        if self.reduction == "mean":
            alpha = alpha / tf.maximum(tf.reduce_sum(mask), 1.0)
        return alpha

    def random_order(self, count):
        """`(T, T)` int32: a random permutation of the tasks per row."""
        seed = _utils.random_seed(self.seed_generator)
        noise = tf.random.stateless_uniform((count, count), seed=seed)
        return tf.argsort(noise, axis=1)

    def gram_coefficients(self, gram, losses, weights, mask):
        order = self.random_order(int(gram.shape[0]))
        return self.coefficients(gram, mask, order)

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction, "seed": self.seed})
        return config
