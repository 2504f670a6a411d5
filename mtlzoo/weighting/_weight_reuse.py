"""Reusing a gradient method's task coefficients for several steps.

A method whose update is `alpha @ grads` (`gram_based`) can recompute
`alpha` only every `update_weights_every` steps. In between, `fit` takes
the cheap step of `mtlzoo.model.weight_reuse_step`: the shared part gets
the gradient of `sum_t alpha_t w_t L_t` (one backward pass, no per-task
gradients), the heads their own task's weighted gradient. Called directly,
`Weighting.combine_gradients` reuses `alpha` the same way (on the
gradients it is given).

The state, two non-trainable variables of the method, is saved with the
model, so a resumed `fit` continues the same schedule:

- the coefficients `alpha` of the last update (float64, one per task);
- the count of steps taken (float64 scalar).
"""

import contextlib

import tensorflow as tf


def check_update_weights_every(method, value):
    """Validate `update_weights_every` for `method`; return it as an int.

    Args:
        method: `Weighting`. The method being constructed.
        value: the option's value.

    Returns:
        The value, a positive int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            "`update_weights_every` must be a positive integer (1: recompute "
            f"the task coefficients at every step). Received: "
            f"update_weights_every={value!r}"
        )
    if value > 1 and not method.gram_based:
        raise ValueError(
            f"`update_weights_every` > 1 needs a method whose update is a "
            f"combination `alpha @ grads` of the task gradients (MGDA, "
            f"PCGrad, CAGrad, IMTL, Nash-MTL, Aligned-MTL, GradNorm); "
            f"{type(method).__name__} has no such coefficients to reuse. "
            f"Received: update_weights_every={value!r}"
        )
    return value


def reuses(method):
    """True when `method` recomputes its coefficients only every few
    steps (`update_weights_every > 1`)."""
    return getattr(method, "update_weights_every", 1) > 1


def build(method, num_tasks):
    """Create the reuse state of `method` (when it reuses, and unless the
    method brings its own, see `Weighting.reuse_variables`)."""
    if not reuses(method) or method.reuse_variables() is not None:
        return

    def state(name, shape):
        return method.add_weight(
            shape=shape,
            initializer="zeros",
            trainable=False,
            dtype="float64",
            name=name,
            aggregation="only_first_replica",
        )

    method.reused_coefficients = state("reused_coefficients", (num_tasks,))
    method.reuse_step = state("reuse_step", ())


def due(method):
    """Scalar bool tensor: the coefficients are recomputed at this step."""
    _, step = method.reuse_variables()
    return tf.equal(tf.math.floormod(step, method.update_weights_every), 0)


def advance(method):
    """Count one step."""
    _, step = method.reuse_variables()
    step.assign_add(tf.constant(1.0, step.dtype))


def store(method, alpha):
    """Keep `alpha` (the coefficients of the weighted task gradients) for
    the steps until the next update."""
    coefficients, _ = method.reuse_variables()
    coefficients.assign(tf.cast(tf.reshape(alpha, (-1,)), coefficients.dtype))


def stored(method, dtype="float32"):
    """The kept coefficients, as a `(T,)` tensor of `dtype`."""
    coefficients, _ = method.reuse_variables()
    return tf.cast(coefficients, dtype)


def coefficients(method, compute, mask):
    """`alpha` of this call: `compute()` (then kept) when due, else the
    kept one times `mask`; counts the call.

    Args:
        method: `Weighting` with `update_weights_every > 1`.
        compute: callable returning the `(T,)` float64 coefficients.
        mask: `(T,)` float64 presence mask.
    """

    def update():
        alpha = tf.cast(compute(), "float64")
        store(method, alpha)
        return alpha

    alpha = tf.cond(
        due(method), update, lambda: stored(method, "float64") * mask
    )
    advance(method)
    return alpha


@contextlib.contextmanager
def handled_by_step(method):
    """While tracing a train step that schedules the updates itself, make
    `combine_gradients` compute the coefficients every call."""
    previous = getattr(method, "_reuse_by_step", False)
    object.__setattr__(method, "_reuse_by_step", True)
    try:
        yield
    finally:
        object.__setattr__(method, "_reuse_by_step", previous)


def scheduled_here(method):
    """True when `combine_gradients` itself must reuse the coefficients
    (the method reuses and no train step schedules it)."""
    return reuses(method) and not getattr(method, "_reuse_by_step", False)
