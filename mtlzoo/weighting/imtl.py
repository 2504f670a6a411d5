"""IMTL-G: impartial multi-task learning, gradient part (Liu et al., 2021)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting


@WEIGHTINGS.register("imtl")
@keras.saving.register_keras_serializable(package="mtlzoo")
class IMTL(Weighting):
    """IMTL-G: an update with equal projections on every task's direction.

    Finds `g = sum_t alpha_t g_t` with `sum_t alpha_t = 1` whose projection
    on every unit task gradient `u_t = g_t / ||g_t||` is the same. The
    paper's closed form,
    `alpha_{2:T} = g_1 U^T (D U^T)^-1`, `alpha_1 = 1 - sum alpha_{2:T}`
    with `D_t = g_1 - g_t`, `U_t = u_1 - u_t`, is the solution of the
    linear system `[g_s . u_t]_{s,t} alpha = c 1`, `1^T alpha = 1` over the
    present tasks; that system is solved here from the Gram matrix (with a
    pseudo-inverse, so parallel gradients do not break it). Tasks that are
    absent or have a zero gradient get `alpha_t = 0`.

    Only the gradient part (IMTL-G) is implemented; the loss-scaling part
    IMTL-L is not.

    Args:
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting="imtl")

    Reference:
        - [Liu et al., 2021. Towards Impartial Multi-task Learning](
          https://openreview.net/forum?id=IMPnRXEWpvr)
    """

    requires_gradients = True
    gram_based = True

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights of the task gradients in the update."""
        count = tf.shape(matrix)[0]
        matrix = _utils.normalize(_utils.restrict(matrix, mask))
        mask = _utils.nonzero_mask(matrix, mask)
        matrix = _utils.restrict(matrix, mask)
        norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(matrix), 0.0))
        inverse = tf.math.divide_no_nan(tf.ones_like(norms), norms)
        # Row t: sum_s alpha_s g_s . u_t - c = 0; absent t: alpha_t = 0.
        rows = matrix * inverse[:, None] + tf.linalg.diag(1.0 - mask)
        system = tf.concat(
            [
                tf.concat([rows, -mask[:, None]], 1),
                tf.concat([mask, tf.zeros([1], tf.float64)], 0)[None, :],
            ],
            0,
        )
        rhs = tf.one_hot(count, count + 1, dtype=tf.float64)
        solution = tf.linalg.matvec(tf.linalg.pinv(system), rhs)
        return solution[:count] * mask

    def gram_coefficients(self, gram, losses, weights, mask):
        return self.coefficients(gram, mask)
