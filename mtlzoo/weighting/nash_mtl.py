"""Nash-MTL: multi-task learning as a bargaining game (Navon et al., 2022)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _diagnostics
from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

# Ridge on the unit diagonal of the normalised Gram matrix (relative: the
# same for every task whatever its gradient norm).
_RIDGE = 1e-10


def bargaining_weights(matrix, mask, start, iterations=100, tolerance=1e-10):
    """Positive `alpha` with `(G G^T alpha)_t = 1 / alpha_t` (present t).

    Scale-invariant: with `n_t = ||g_t||` and `C` the Gram matrix of the
    unit gradients (`C_ts = A_ts / (n_t n_s)`, unit diagonal), `alpha_t =
    beta_t / n_t` where `beta > 0` solves `(C beta)_t = 1 / beta_t`, the
    same equation for gradients of norm 1. So the solve does not depend on
    how many decades the norms span, and the update `alpha @ G =
    sum_t beta_t g_t / n_t` is exact for the tiniest task too.

    `beta` is the unique minimiser of the self-concordant function
    `f(b) = b^T C b / 2 - sum_t log b_t` (`C` plus a `1e-10` ridge on its
    unit diagonal), found by damped Newton steps (`b <- b + d / (1 +
    lambda)` while the Newton decrement `lambda` is above 1/4, full steps
    after), which keep `b > 0` and converge quadratically, until the
    residual `max_t |beta_t (C beta)_t - 1|` is at most `tolerance` or
    `iterations` steps were taken.

    Args:
        matrix: `(T, T)` float64 Gram matrix.
        mask: `(T,)` float64 presence mask (tasks whose gradient is
            exactly zero are dropped too).
        start: `(T,)` float64 positive warm start of `beta`.
        iterations: int. Newton steps at most.
        tolerance: float. Residual at which the solve stops.

    Returns:
        `(alpha, beta, converged, residual)`: the weights (0 for dropped
        tasks), the scale-free solution `beta` to warm-start the next call,
        a bool scalar tensor (False when `iterations` steps did not reach
        `tolerance`) and the final residual.
    """
    matrix = _utils.restrict(matrix, mask)
    mask = _utils.nonzero_mask(matrix, mask, tolerance=0.0)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(matrix), 0.0))
    safe = tf.where(mask > 0, norms, tf.ones_like(norms))
    unit = _utils.restrict(matrix / safe[:, None] / safe[None, :], mask)
    unit += _RIDGE * tf.linalg.diag(mask)
    start = tf.where(mask > 0, tf.maximum(start, 1e-8), tf.ones_like(start))

    def residual(b):
        return tf.reduce_max(mask * tf.abs(b * tf.linalg.matvec(unit, b) - 1.0))

    def body(step, b, error):
        grad = mask * (tf.linalg.matvec(unit, b) - 1.0 / b)
        hessian = unit + tf.linalg.diag(mask / b**2 + (1.0 - mask))
        direction = -tf.linalg.solve(hessian, grad[:, None])[:, 0]
        decrement = tf.sqrt(tf.maximum(-tf.reduce_sum(direction * grad), 0.0))
        length = tf.where(decrement > 0.25, 1.0 / (1.0 + decrement), 1.0)
        b = b + length * direction
        return step + 1, b, residual(b)

    _, beta, error = tf.while_loop(
        lambda step, b, error: tf.logical_and(
            step < iterations, error > tolerance
        ),
        body,
        (tf.constant(0), start, residual(start)),
    )
    alpha = beta / safe * mask
    return alpha, beta, error <= tolerance, error


@WEIGHTINGS.register("nash_mtl", aliases=("nashmtl",))
@keras.saving.register_keras_serializable(package="mtlzoo")
class NashMTL(Weighting):
    """Nash-MTL: the Nash bargaining solution between the tasks.

    The update is `sum_t alpha_t g_t` with `alpha > 0` solving
    `G G^T alpha = 1 / alpha` over the present tasks (every task's
    improvement `alpha_t g_t . d` equals 1). The authors' code solves it
    with a sequence of convex cvxpy problems (CCP); here damped Newton
    steps on the equivalent convex problem do it with TF ops (see
    `bargaining_weights`), warm-started from the previous step's solution
    kept in a non-trainable variable. If `max_norm > 0`, the update is
    scaled down to that norm when longer (the authors clip the shared
    parameters' gradient norm to 1; with `representation_gradients=True`
    the clip applies to the representation gradient instead). Absent tasks
    and tasks with an exactly zero gradient get `alpha_t = 0` and keep
    their warm start.

    The solve works on the unit gradients, so it is as accurate when the
    task-gradient norms span many decades (a cold start on norms 0.01, 1
    and 100 gives the bargaining solution to ~1e-12). It stops when the
    residual `max_t |alpha_t (G G^T alpha)_t - 1|` is below 1e-10; if
    `iterations` Newton steps do not get there, `solver_converged` is set
    to 0 and a warning is printed (once) to stderr.

    Args:
        max_norm: float. Norm clip of the shared update; 0 disables it.
            Defaults to 1.0.
        update_weights_every: int. Solve every this many steps and reuse
            the weights in between (see `mtlzoo.weighting._weight_reuse`;
            `fit` then takes one backward pass in between). Defaults to 1.
        iterations: int. Newton steps at most per solve. Defaults to 100.
        representation_gradients: bool. See `Weighting`.

    Attributes:
        solver_converged: scalar variable, 1.0 when the last solve reached
            the tolerance (not saved with the model).
        solver_residual: scalar variable, the last solve's residual.

    Example:

    >>> model.compile(optimizer="adam", weighting=NashMTL(max_norm=1.0))

    Reference:
        - [Navon et al., 2022. Multi-Task Learning as a Bargaining Game](
          https://arxiv.org/abs/2202.01017)
    """

    requires_gradients = True
    gram_based = True

    def __init__(
        self, max_norm=1.0, update_weights_every=1, iterations=100, **kwargs
    ):
        super().__init__(update_weights_every=update_weights_every, **kwargs)
        if not isinstance(max_norm, (int, float)) or max_norm < 0:
            raise ValueError(
                "`max_norm` must be a non-negative number. "
                f"Received: max_norm={max_norm!r}"
            )
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(
                "`iterations` must be a positive integer. "
                f"Received: iterations={iterations!r}"
            )
        self.max_norm = float(max_norm)
        self.iterations = iterations

    def build_state(self, num_tasks):
        def state(name, shape, initializer):
            return self.add_weight(
                shape=shape,
                initializer=initializer,
                trainable=False,
                dtype="float64",
                name=name,
                aggregation="only_first_replica",
            )

        self.scaled_solution = state("scaled_solution", (num_tasks,), "ones")
        self.alpha = state("alpha", (num_tasks,), "zeros")
        self.step = state("step", (), "zeros")
        _diagnostics.attach_solver(self)

    def reuse_variables(self):
        """`(alpha, step)`: Nash-MTL keeps its reuse state in its own
        variables (saved since before `mtlzoo.weighting._weight_reuse`)."""
        if not hasattr(self, "step"):
            return None
        return self.alpha, self.step

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights: the warm-started bargaining solve (the
        reuse between solves is `mtlzoo.weighting._weight_reuse`'s)."""

        def solve():
            alpha, beta, converged, residual = bargaining_weights(
                matrix, mask, self.scaled_solution, self.iterations
            )
            keep = alpha > 0
            self.scaled_solution.assign(
                tf.where(keep, beta, self.scaled_solution)
            )
            _diagnostics.record_solver(
                self,
                converged,
                residual,
                f"the bargaining solve did not converge in "
                f"{self.iterations} Newton steps; the update may be off. "
                "Raise `iterations`.",
            )
            return alpha

        alpha = solve()
        self.alpha.assign(alpha)
        return alpha

    def gram_coefficients(self, gram, losses, weights, mask):
        alpha = self.coefficients(gram, mask)
        if self.max_norm > 0:
            # clip_by_norm of the update, from ||alpha @ G||^2 = a'Ga.
            norm = tf.sqrt(
                tf.maximum(
                    tf.reduce_sum(alpha * tf.linalg.matvec(gram, alpha)), 0.0
                )
            )
            alpha = alpha * self.max_norm / tf.maximum(norm, self.max_norm)
        return alpha

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_norm": self.max_norm,
                "update_weights_every": self.update_weights_every,
                "iterations": self.iterations,
            }
        )
        return config
