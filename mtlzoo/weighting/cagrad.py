"""CAGrad: conflict-averse gradient descent (Liu et al., 2021)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_RESCALES = (0, 1, 2)
_NORM_EPSILON = 1e-10


def dual_weights(matrix, mask, c, iterations=40):
    """Simplex weights `w` solving CAGrad's dual problem.

    `min_w  w^T A b + c ||g_0|| sqrt(w^T A w)` over the simplex of the
    present tasks, with `A` the Gram matrix, `b` the uniform weights of the
    present tasks and `||g_0||^2 = b^T A b`. Solved by a log-barrier
    interior-point method: `iterations` damped Newton steps on the
    equality-constrained barrier problem, halving the barrier weight (from
    1) at each step; the fraction-to-boundary rule keeps `w > 0`. On the
    problems tried, 40 steps match SLSQP to ~1e-8.

    Args:
        matrix: `(T, T)` float64 Gram matrix.
        mask: `(T,)` float64 presence mask.
        c: float. CAGrad's `c`.
        iterations: int. Newton steps.

    Returns:
        `(T,)` float64 weights (0 for absent tasks).
    """
    count = tf.shape(matrix)[0]
    matrix = _utils.normalize(_utils.restrict(matrix, mask))
    present = tf.reduce_sum(mask)
    b = mask / tf.maximum(present, 1.0)
    a = tf.linalg.matvec(matrix, b)
    radius = c * tf.sqrt(tf.reduce_sum(a * b) + _NORM_EPSILON)
    outer_mask = mask[:, None] * mask[None, :]
    border = tf.concat([mask, 1.0 - tf.minimum(present, 1.0)[None]], 0)

    def body(step, w, mu):
        safe = tf.where(mask > 0, w, tf.ones_like(w))
        mw = tf.linalg.matvec(matrix, w)
        q = tf.sqrt(tf.reduce_sum(w * mw) + _NORM_EPSILON)
        grad = mask * (a + radius * mw / q - mu / safe)
        hessian = radius * (matrix / q - mw[:, None] * mw[None, :] / q**3)
        hessian = hessian * outer_mask + tf.linalg.diag(
            mask * mu / safe**2 + (1.0 - mask)
        )
        system = tf.concat(
            [tf.concat([hessian, mask[:, None]], 1), border[None, :]], 0
        )
        rhs = tf.concat([-grad, tf.zeros([1], tf.float64)], 0)
        direction = tf.linalg.solve(system, rhs[:, None])[:count, 0]
        shrinking = (direction < 0.0) & (mask > 0)
        ratio = tf.where(
            shrinking,
            -w / tf.where(shrinking, direction, -tf.ones_like(direction)),
            tf.fill(tf.shape(w), tf.constant(float("inf"), tf.float64)),
        )
        length = tf.minimum(0.99 * tf.reduce_min(ratio), 1.0)
        return step + 1, w + length * direction * mask, mu * 0.5

    _, w, _ = tf.while_loop(
        lambda step, w, mu: step < iterations,
        body,
        (tf.constant(0), b, tf.constant(1.0, tf.float64)),
    )
    return w * mask


@WEIGHTINGS.register("cagrad")
@keras.saving.register_keras_serializable(package="mtlzoo")
class CAGrad(Weighting):
    """CAGrad: the best worst-task improvement near the average gradient.

    Looks for the update `d` within `||d - g_0|| <= c ||g_0||` of the mean
    gradient `g_0` of the present tasks that maximises the smallest task
    improvement `min_t g_t . d`. With the dual weights `w` (see
    `dual_weights`), `g_w = sum_t w_t g_t` and
    `d = g_0 + c ||g_0|| / ||g_w|| g_w`, divided by `1 + c^2`
    (`rescale=1`, the authors' default), `1 + c` (`rescale=2`) or not
    (`rescale=0`). As in the authors' code the update is built from the
    *mean* gradient, about `1/T` of the plain sum.

    Args:
        c: float. Radius of the ball around `g_0` (`alpha` in the authors'
            code; 0 gives the mean gradient). Defaults to 0.4.
        rescale: int. 0, 1 or 2, see above. Defaults to 1.
        iterations: int. Newton steps of the dual solver. Defaults to 40.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=CAGrad(c=0.4))

    Reference:
        - [Liu et al., 2021. Conflict-Averse Gradient Descent for Multi-task
          Learning](https://arxiv.org/abs/2110.14048)
    """

    requires_gradients = True
    gram_based = True

    def __init__(self, c=0.4, rescale=1, iterations=40, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(c, (int, float)) or c < 0:
            raise ValueError(
                f"`c` must be a non-negative number. Received: c={c!r}"
            )
        if rescale not in _RESCALES:
            raise ValueError(
                f"`rescale` must be one of {list(_RESCALES)}. "
                f"Received: rescale={rescale!r}"
            )
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(
                "`iterations` must be a positive integer. "
                f"Received: iterations={iterations!r}"
            )
        self.c = float(c)
        self.rescale = rescale
        self.iterations = iterations

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights of the task gradients in the update."""
        w = dual_weights(matrix, mask, self.c, self.iterations)
        b = mask / tf.maximum(tf.reduce_sum(mask), 1.0)
        g0_norm = tf.sqrt(tf.reduce_sum(b * tf.linalg.matvec(matrix, b)))
        gw_norm = tf.sqrt(
            tf.maximum(tf.reduce_sum(w * tf.linalg.matvec(matrix, w)), 0.0)
        )
        scale = tf.math.divide_no_nan(self.c * g0_norm, gw_norm)
        alpha = b + scale * w
        if self.rescale == 1:
            alpha = alpha / (1.0 + self.c**2)
        elif self.rescale == 2:
            alpha = alpha / (1.0 + self.c)
        return alpha

    def gram_coefficients(self, gram, losses, weights, mask):
        return self.coefficients(gram, mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "c": self.c,
                "rescale": self.rescale,
                "iterations": self.iterations,
            }
        )
        return config
