"""Multiple-gradient descent as multi-objective optimisation (MGDA)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting._catalog import register_preset
from mtlzoo.weighting.base import Weighting

_NORMALIZATIONS = ("none", "l2", "loss", "loss+")


def _pair_start(matrix, mask):
    """Best point on any segment [g_i, g_j] (closed form), as a start.

    For two tasks this is already the exact min-norm point:
    `gamma = clip((g2 - g1) . g2 / ||g1 - g2||^2, 0, 1)`,
    `alpha = (gamma, 1 - gamma)`.
    """
    count = tf.shape(matrix)[0]
    diag = tf.linalg.diag_part(matrix)
    mii = diag[:, None]
    mjj = diag[None, :]
    denominator = mii + mjj - 2.0 * matrix
    gamma = tf.math.divide_no_nan(mjj - matrix, denominator)
    gamma = tf.where(denominator > _utils.EPSILON, gamma, tf.ones_like(gamma))
    gamma = tf.clip_by_value(gamma, 0.0, 1.0)
    cost = (
        gamma**2 * mii
        + 2.0 * gamma * (1.0 - gamma) * matrix
        + (1.0 - gamma) ** 2 * mjj
    )
    valid = mask[:, None] * mask[None, :] > 0
    cost = tf.where(valid, cost, float("inf") * tf.ones_like(cost))
    best = tf.argmin(tf.reshape(cost, [-1]), output_type=tf.int32)
    i, j = best // count, best % count
    g = tf.reshape(gamma, [-1])[best]
    return g * tf.one_hot(i, count, dtype=matrix.dtype) + (1.0 - g) * (
        tf.one_hot(j, count, dtype=matrix.dtype)
    )


def min_norm_coefficients(matrix, mask, max_iterations=250, tolerance=1e-6):
    """Simplex weights of the min-norm point of the present tasks' hull.

    Frank-Wolfe with exact line search on the Gram matrix (Sener & Koltun,
    Algorithm 2), started from the best pair.

    Args:
        matrix: `(T, T)` float64 Gram matrix.
        mask: `(T,)` float64, 1 for the tasks to include.
        max_iterations: int. Frank-Wolfe iterations at most.
        tolerance: float. Stop when the weights move less (L1) than this.

    Returns:
        `(T,)` float64 weights, summing to 1 over the masked tasks (0 if
        none is present).
    """
    count = tf.shape(matrix)[0]
    # The weights do not depend on the scale: make thresholds relative.
    matrix = _utils.normalize(_utils.restrict(matrix, mask))
    alpha = _pair_start(matrix, mask)
    infinity = tf.fill(tf.shape(mask), tf.constant(float("inf"), tf.float64))

    def body(step, alpha, change):
        m_alpha = tf.linalg.matvec(matrix, alpha)
        t = tf.argmin(
            tf.where(mask > 0, m_alpha, infinity), output_type=tf.int32
        )
        v1v1 = tf.reduce_sum(alpha * m_alpha)
        v1v2 = m_alpha[t]
        v2v2 = matrix[t, t]
        denominator = v1v1 + v2v2 - 2.0 * v1v2
        gamma = tf.math.divide_no_nan(v1v1 - v1v2, denominator)
        gamma = tf.where(denominator > _utils.EPSILON, gamma, 0.0)
        gamma = tf.clip_by_value(gamma, 0.0, 1.0)
        new = (1.0 - gamma) * alpha + gamma * tf.one_hot(
            t, count, dtype=tf.float64
        )
        return step + 1, new, tf.reduce_sum(tf.abs(new - alpha))

    _, alpha, _ = tf.while_loop(
        lambda step, alpha, change: tf.logical_and(
            step < max_iterations, change > tolerance
        ),
        body,
        (tf.constant(0), alpha, tf.constant(float("inf"), tf.float64)),
    )
    return alpha * mask


@WEIGHTINGS.register("mgda")
@keras.saving.register_keras_serializable(package="mtlzoo")
class MGDA(Weighting):
    """MGDA: the min-norm point of the convex hull of the task gradients.

    Finds simplex weights `alpha` minimising `||sum_t alpha_t g_t / n_t||`
    over the present tasks, where `n_t` is a per-task normaliser, and
    returns `sum_t alpha_t g_t` (as the authors' code does: the weights
    found on normalised gradients scale the raw task gradients). The
    weights sum to 1, so the update is about `1/T` of the plain sum's.
    The solver works on the `(T, T)` Gram matrix: the closed form of the
    best pair of tasks (exact for two tasks), then Frank-Wolfe with exact
    line search. A task with a zero gradient makes the update zero (the
    point is Pareto-stationary).

    With `representation_gradients=True` this is MGDA-UB (the gradients are
    taken w.r.t. the shared features; alias `"mgda_ub"`).

    Args:
        normalization: str. Normaliser `n_t`: `"none"` (1), `"l2"`
            (`||g_t||`), `"loss"` (`L_t`) or `"loss+"` (`L_t ||g_t||`).
            Defaults to `"none"`.
        max_iterations: int. Frank-Wolfe iterations at most. Defaults to
            250.
        tolerance: float. Stop when the weights move less (L1) than this.
            Defaults to 1e-6.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=MGDA(normalization="l2"))

    Reference:
        - [Sener & Koltun, 2018. Multi-Task Learning as Multi-Objective
          Optimization](https://arxiv.org/abs/1810.04650)
    """

    requires_gradients = True
    gram_based = True

    def __init__(
        self, normalization="none", max_iterations=250, tolerance=1e-6, **kw
    ):
        super().__init__(**kw)
        if normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {list(_NORMALIZATIONS)}. "
                f"Received: normalization={normalization!r}"
            )
        if not isinstance(max_iterations, int) or max_iterations < 0:
            raise ValueError(
                "`max_iterations` must be a non-negative integer. "
                f"Received: max_iterations={max_iterations!r}"
            )
        self.normalization = normalization
        self.max_iterations = max_iterations
        self.tolerance = float(tolerance)

    def coefficients(self, matrix, losses, mask):
        """`(T,)` float64 weights `alpha` of the raw task gradients, from
        their `(T, T)` Gram matrix and the presence mask."""
        norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(matrix), 0.0))
        losses = tf.cast(tf.reshape(losses, [-1]), tf.float64)
        losses = tf.where(mask > 0, losses, tf.ones_like(losses))
        normalizer = {
            "none": tf.ones_like(norms),
            "l2": norms,
            "loss": losses,
            "loss+": losses * norms,
        }[self.normalization]
        inverse = 1.0 / tf.maximum(normalizer, _utils.EPSILON)
        scaled = matrix * inverse[:, None] * inverse[None, :]
        return min_norm_coefficients(
            scaled, mask, self.max_iterations, self.tolerance
        )

    def gram_coefficients(self, gram, losses, weights, mask):
        return self.coefficients(gram, losses, mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "normalization": self.normalization,
                "max_iterations": self.max_iterations,
                "tolerance": self.tolerance,
            }
        )
        return config


register_preset("mgda_ub", "mgda", representation_gradients=True)
