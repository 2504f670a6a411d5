"""CAGrad: conflict-averse gradient descent (Liu et al., 2021)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _diagnostics
from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_RESCALES = (0, 1, 2)
# Guards sqrt(v^T C v) in the scaled problem, whose terms are about 1.
_NORM_EPSILON = 1e-24
# Step lengths tried by the line search (times the longest feasible one).
# Scaled Newton decrement below which an iterate is near the central path.
_CENTRED = 1.0
_STEPS = tf.constant([0.5**j for j in range(40)], tf.float64)


def dual_weights(matrix, mask, c, iterations=200, tolerance=1e-12):
    """Simplex weights `w` solving CAGrad's dual problem.

    `min_w  w^T A b + c ||g_0|| sqrt(w^T A w)` over the simplex of the
    present tasks, with `A` the Gram matrix, `b` the uniform weights of the
    present tasks and `||g_0||^2 = b^T A b`.

    The problem is solved in scale-free variables: with `n_t = ||g_t||`,
    `C` the Gram matrix of the unit gradients and `k_t = min(n) / n_t`,
    `w_t = k_t v_t` turns it into `min_v  p . v + c sqrt(v^T C v)` subject
    to `k . v = 1`, `v >= 0`, where `p_t` is the cosine of `g_t` with
    `g_0`: every term is about 1 whatever the spread of the norms (the
    optimum puts weights of order `min(n) / n_t` on the tasks, which the
    unscaled problem cannot resolve). A log-barrier interior-point method
    solves it: Newton steps on the equality-constrained barrier problem,
    each followed by a line search over step lengths that keep `v > 0`;
    the barrier weight `mu` (from 1) is divided by 10 whenever the Newton
    decrement (of the barrier problem scaled by `1 / mu`) is below 1 or no
    step lowers the barrier objective (the float64 floor). The solve
    stops when `T * mu` is at most `tolerance` (duality gap ~`T * mu` in
    units of `min(n) ||g_0||`, the scale of the smallest task's
    improvement) or after `iterations` steps, 15-75 steps on 2 to 7
    tasks. On gradients whose norms span 8 decades the update matches
    SLSQP on the scaled dual to ~1e-7 (the float32 gradients' precision).

    Tasks with an exactly zero gradient are left out of the solve; if one
    is present and the optimum is positive, the optimum is `w` on that task
    (`g_w = 0`) and the returned weights are all 0.

    Args:
        matrix: `(T, T)` float64 Gram matrix.
        mask: `(T,)` float64 presence mask.
        c: float. CAGrad's `c`.
        iterations: int. Newton steps at most.
        tolerance: float. Barrier weight (times `T`) at which the solve
            stops.

    Returns:
        `(w, gw_norm, converged, residual)`: `(T,)` float64 weights (0 for
        absent tasks), `||sum_t w_t g_t||` computed in the scaled
        variables, a bool scalar tensor (False when `iterations` steps did
        not reach `tolerance`) and the final barrier weight times `T`.
    """
    count = tf.shape(matrix)[0]
    inf = tf.constant(float("inf"), tf.float64)
    matrix = _utils.restrict(matrix, mask)
    present = tf.reduce_sum(mask)
    b = mask / tf.maximum(present, 1.0)
    nonzero = _utils.nonzero_mask(matrix, mask, tolerance=0.0)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(matrix), 0.0))
    safe = tf.where(nonzero > 0, norms, tf.ones_like(norms))
    smallest = tf.reduce_min(
        tf.where(nonzero > 0, norms, tf.fill(tf.shape(norms), inf))
    )
    smallest = tf.where(
        tf.reduce_sum(nonzero) > 0, smallest, tf.ones_like(smallest)
    )
    unit = _utils.restrict(matrix / safe[:, None] / safe[None, :], nonzero)
    g0 = tf.linalg.matvec(matrix, b)  # (A b)_t = g_t . g_0
    g0_norm = tf.sqrt(tf.maximum(tf.reduce_sum(g0 * b), 0.0))
    p = nonzero * tf.math.divide_no_nan(g0, safe * g0_norm)
    k = nonzero * smallest / safe
    outer_mask = nonzero[:, None] * nonzero[None, :]
    border = tf.concat(
        [k, 1.0 - tf.minimum(tf.reduce_sum(nonzero), 1.0)[None]], 0
    )

    def newton(v, mu):
        safe_v = tf.where(nonzero > 0, v, tf.ones_like(v))
        cv = tf.linalg.matvec(unit, v)
        q = tf.sqrt(tf.maximum(tf.reduce_sum(v * cv), 0.0) + _NORM_EPSILON)
        grad = nonzero * (p + c * cv / q - mu / safe_v)
        hessian = c * (unit / q - cv[:, None] * cv[None, :] / q**3)
        hessian = hessian * outer_mask + tf.linalg.diag(
            nonzero * mu / safe_v**2 + (1.0 - nonzero)
        )
        system = tf.concat(
            [tf.concat([hessian, k[:, None]], 1), border[None, :]], 0
        )
        rhs = tf.concat([-grad, tf.zeros([1], tf.float64)], 0)
        direction = tf.linalg.solve(system, rhs[:, None])[:count, 0]
        direction = direction * nonzero
        decrement = tf.maximum(-tf.reduce_sum(direction * grad), 0.0)
        return direction, decrement

    def barrier(points, mu):
        """Barrier objective at each row of `points` (inf outside)."""
        cv = tf.matmul(points, unit)
        q = tf.sqrt(
            tf.maximum(tf.reduce_sum(points * cv, 1), 0.0) + _NORM_EPSILON
        )
        inside = (points > 0.0) | (nonzero[None, :] == 0)
        logs = tf.where(
            inside & (nonzero[None, :] > 0),
            tf.math.log(tf.where(points > 0.0, points, tf.ones_like(points))),
            tf.zeros_like(points),
        )
        value = (
            tf.linalg.matvec(points, p) + c * q - mu * tf.reduce_sum(logs, 1)
        )
        return tf.where(tf.reduce_all(inside, 1), value, inf)

    def body(step, v, mu, decrement):
        direction, decrement = newton(v, mu)
        shrinking = (direction < 0.0) & (nonzero > 0)
        ratio = tf.where(
            shrinking,
            -v / tf.where(shrinking, direction, -tf.ones_like(direction)),
            tf.fill(tf.shape(v), inf),
        )
        largest = tf.minimum(0.99 * tf.reduce_min(ratio), 1.0)
        # Line search on a grid of step lengths: the best point wins.
        points = v[None, :] + (largest * _STEPS)[:, None] * direction[None]
        values = barrier(points, mu)
        best = tf.argmin(values)
        improved = values[best] < barrier(v[None, :], mu)[0]
        v = tf.where(improved, points[best], v)
        # Newton decrement of the barrier problem scaled by 1 / mu (the
        # self-concordant form): small = near the central path, so the
        # barrier weight goes down; so it does when no step helps any more
        # (set to 0: the float64 floor of this barrier weight is reached).
        decrement = tf.where(improved, decrement / mu, tf.zeros_like(mu))
        mu = tf.where(decrement < _CENTRED, mu * 0.1, mu)
        return step + 1, v, mu, decrement

    def running(step, v, mu, decrement):
        done = (mu * tf.cast(count, tf.float64) <= tolerance) & (
            decrement < _CENTRED
        )
        return (step < iterations) & tf.logical_not(done)

    # Start: equal v (weights of order min(n) / n_t), on the constraint.
    start = nonzero / tf.maximum(tf.reduce_sum(k), 1e-300)
    _, v, mu, decrement = tf.while_loop(
        running,
        body,
        (tf.constant(0), start, tf.constant(1.0, tf.float64), inf),
    )
    residual = mu * tf.cast(count, tf.float64)
    converged = (residual <= tolerance) & (decrement < _CENTRED)
    cv = tf.linalg.matvec(unit, v)
    v_norm = tf.sqrt(tf.maximum(tf.reduce_sum(v * cv), 0.0))
    objective = tf.reduce_sum(p * v) + c * v_norm
    # A zero-gradient task gives the value 0: better than a positive one.
    zero_wins = (tf.reduce_sum(mask - nonzero) > 0) & (objective > 0)
    w = tf.where(zero_wins, tf.zeros_like(v), k * v)
    gw_norm = tf.where(zero_wins, tf.zeros_like(v_norm), smallest * v_norm)
    return w, gw_norm, converged, residual


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
        iterations: int. Newton steps at most of the dual solver; when they
            do not reach the tolerance, `solver_converged` is set to 0 and
            a warning is printed (once) to stderr. Defaults to 200.
        representation_gradients: bool. See `Weighting`.

    Attributes:
        solver_converged: scalar variable, 1.0 when the last dual solve
            reached its tolerance (not saved with the model).
        solver_residual: scalar variable, the last solve's residual.

    Example:

    >>> model.compile(optimizer="adam", weighting=CAGrad(c=0.4))

    Reference:
        - [Liu et al., 2021. Conflict-Averse Gradient Descent for Multi-task
          Learning](https://arxiv.org/abs/2110.14048)
    """

    requires_gradients = True
    gram_based = True

    def __init__(self, c=0.4, rescale=1, iterations=200, **kwargs):
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

    def build_state(self, num_tasks):
        _diagnostics.attach_solver(self)

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights of the task gradients in the update."""
        w, gw_norm, converged, residual = dual_weights(
            matrix, mask, self.c, self.iterations
        )
        if hasattr(self, "solver_converged"):
            _diagnostics.record_solver(
                self,
                converged,
                residual,
                f"the dual solve did not converge in {self.iterations} "
                "Newton steps; the update may be off. Raise `iterations`.",
            )
        b = mask / tf.maximum(tf.reduce_sum(mask), 1.0)
        g0_norm = tf.sqrt(
            tf.maximum(tf.reduce_sum(b * tf.linalg.matvec(matrix, b)), 0.0)
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
