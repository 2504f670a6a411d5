"""Nash-MTL: multi-task learning as a bargaining game (Navon et al., 2022)."""

import keras
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_RIDGE = 1e-10


def bargaining_weights(matrix, mask, start, iterations=20, tolerance=1e-10):
    """Positive `alpha` with `(G G^T alpha)_t = 1 / alpha_t` (present t).

    The solution is the unique minimiser of the self-concordant function
    `f(a) = a^T A a / 2 - sum_t log a_t` (`A` the Gram matrix scaled to unit
    Frobenius norm, plus a 1e-10 ridge), found by damped Newton steps
    (`a <- a + d / (1 + lambda)` while the Newton decrement `lambda` is
    above 1/4, full steps after), which keep `a > 0` and converge
    quadratically. The result is mapped back to the unscaled Gram matrix
    (`alpha = a / sqrt(||A||)`), as the authors' normalised cvxpy problem
    does.

    Args:
        matrix: `(T, T)` float64 Gram matrix.
        mask: `(T,)` float64 presence mask (tasks with a zero gradient are
            dropped too).
        start: `(T,)` float64 positive warm start in the scaled problem.
        iterations: int. Newton steps at most.
        tolerance: float. Stop when `lambda^2 / 2` is below this.

    Returns:
        `(alpha, a)`: the weights (0 for dropped tasks) and the scaled
        solution to warm-start the next call.
    """
    matrix = _utils.restrict(matrix, mask)
    mask = _utils.nonzero_mask(matrix, mask)
    matrix = _utils.restrict(matrix, mask)
    scale = tf.norm(matrix)
    scaled = tf.math.divide_no_nan(matrix, scale)
    scaled += _RIDGE * tf.linalg.diag(mask)
    start = tf.where(mask > 0, tf.maximum(start, 1e-8), tf.ones_like(start))

    def body(step, a, decrement):
        grad = mask * (tf.linalg.matvec(scaled, a) - 1.0 / a)
        hessian = scaled + tf.linalg.diag(mask / a**2 + (1.0 - mask))
        direction = -tf.linalg.solve(hessian, grad[:, None])[:, 0]
        decrement = tf.sqrt(tf.maximum(-tf.reduce_sum(direction * grad), 0.0))
        length = tf.where(decrement > 0.25, 1.0 / (1.0 + decrement), 1.0)
        return step + 1, a + length * direction, decrement

    _, a, _ = tf.while_loop(
        lambda step, a, decrement: tf.logical_and(
            step < iterations, 0.5 * decrement**2 > tolerance
        ),
        body,
        (tf.constant(0), start, tf.constant(float("inf"), tf.float64)),
    )
    alpha = tf.math.divide_no_nan(a, tf.sqrt(scale)) * mask
    return alpha, a


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
    and tasks with a zero gradient get `alpha_t = 0` and keep their warm
    start.

    Args:
        max_norm: float. Norm clip of the shared update; 0 disables it.
            Defaults to 1.0.
        update_weights_every: int. Solve every this many steps and reuse
            the weights in between. Defaults to 1.
        iterations: int. Newton steps at most per solve. Defaults to 20.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting=NashMTL(max_norm=1.0))

    Reference:
        - [Navon et al., 2022. Multi-Task Learning as a Bargaining Game](
          https://arxiv.org/abs/2202.01017)
    """

    requires_gradients = True
    gram_based = True

    def __init__(
        self, max_norm=1.0, update_weights_every=1, iterations=20, **kwargs
    ):
        super().__init__(**kwargs)
        if not isinstance(max_norm, (int, float)) or max_norm < 0:
            raise ValueError(
                "`max_norm` must be a non-negative number. "
                f"Received: max_norm={max_norm!r}"
            )
        for name, value in (
            ("update_weights_every", update_weights_every),
            ("iterations", iterations),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"`{name}` must be a positive integer. "
                    f"Received: {name}={value!r}"
                )
        self.max_norm = float(max_norm)
        self.update_weights_every = update_weights_every
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

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights; solves (and updates the state) on every
        `update_weights_every`-th call, reuses the last weights otherwise."""

        def solve():
            alpha, a = bargaining_weights(
                matrix, mask, self.scaled_solution, self.iterations
            )
            keep = alpha > 0
            self.scaled_solution.assign(tf.where(keep, a, self.scaled_solution))
            return alpha

        if self.update_weights_every == 1:
            alpha = solve()
        else:
            due = tf.equal(
                tf.math.floormod(self.step, self.update_weights_every), 0
            )
            alpha = tf.cond(due, solve, lambda: self.alpha * mask)
        self.alpha.assign(alpha)
        self.step.assign_add(1.0)
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
