"""The train step of a gradient method that reuses its coefficients.

With `update_weights_every=N > 1` (a `gram_based` method, see
`mtlzoo.weighting._weight_reuse`), one step in N is the full gradient step
of `mtlzoo.model.gradient_step` (one backward pass per task, the method
computes `alpha`, which is kept); the other steps reuse the kept `alpha`:
the shared part (parameters, or features in representation mode) gets the
gradient of `sum_t alpha_t w_t L_t` and the variables each task owns the
gradient of `sum_t w_t L_t`: two backward passes through the heads, one
through the trunk, none per task. Both are branches of one `tf.cond`, so
the step is traced once. One device only: under `tf.distribute` with
several replicas the full step synchronises them inside the `tf.cond`,
which TensorFlow does not support, and the step says so.
"""

import tensorflow as tf
from keras import ops

from mtlzoo.model.distribution import replicas
from mtlzoo.model.distribution import scale_loss_for_distribution
from mtlzoo.model.gradient_combination import combine_task_gradients
from mtlzoo.model.gradient_step import per_task_gradients
from mtlzoo.model.gradient_step import variable_gradients
from mtlzoo.model.gradient_step import weighted_losses
from mtlzoo.model.train_step import finish_step
from mtlzoo.model.train_step import guarded_batch
from mtlzoo.weighting import _weight_reuse as weight_reuse


class _Checks:
    """Collects a branch's checks (`StepGuard.add`) to hand them out of
    the `tf.cond`."""

    def __init__(self):
        self.checks = []

    def add(self, ok, message):
        self.checks.append(
            (
                tf.convert_to_tensor(ok, tf.bool),
                tf.convert_to_tensor(message, tf.string),
            )
        )


def weight_reuse_step(parts, x, y, sample_weights):
    """One step of a method with `update_weights_every > 1`.

    Args and returns: as `mtlzoo.model.gradient_step.gradient_method_step`.
    """
    weighting = parts.weighting
    objective = parts.objective
    rep = weighting.representation_gradients
    _, count = replicas()
    if count > 1:
        raise ValueError(
            "`update_weights_every` > 1 runs on one device only: its step "
            "chooses between the full and the reuse step with a `tf.cond`, "
            "and the full step synchronises the replicas inside it, which "
            "`tf.distribute` does not support. Use update_weights_every=1 "
            f"under a strategy with several replicas. Received: "
            f"update_weights_every={weighting.update_weights_every}, "
            f"replicas={count}"
        )
    guard, y, sample_weights = guarded_batch(parts, x, y, sample_weights)
    with tf.GradientTape(persistent=True) as tape:
        y_pred, shared = parts.forward(x, cut=rep)
        terms = weighted_losses(parts, y, y_pred, sample_weights)
        scaled = scale_loss_for_distribution(terms.total)
        # What a reuse step differentiates, recorded here: a gradient
        # inside the `tf.cond` only reaches what the tape recorded.
        alpha = weight_reuse.stored(weighting)
        reused = ops.sum(
            ops.stack([alpha[t] * w for t, w in enumerate(terms.per_task)])
        )
        weighted_sum = ops.sum(ops.stack(terms.per_task))
    scale = scale_loss_for_distribution(ops.ones(()))
    targets = shared if rep else parts.partition.combined_variables(rep)
    own_variables = parts.partition.task_own_variables(rep)
    owned = _unique([v for own in own_variables for v in own])
    collected = _Checks()

    def update():
        real_guard = objective.guard
        if real_guard is not None:
            objective.guard = collected
        try:
            rows, own_grads = per_task_gradients(
                tape, terms.per_task, targets, own_variables
            )
            stats = (terms.losses, terms.weights, terms.present)
            with weight_reuse.handled_by_step(weighting):
                pieces = combine_task_gradients(
                    rows, targets, weighting, objective, stats, scale
                )
        finally:
            objective.guard = real_guard
        # The method recorded `alpha_t w_t` (present tasks) as applied.
        applied = ops.cast(weighting.applied_weights, "float32")
        weights = ops.cast(terms.weights, "float32")
        safe = ops.where(weights != 0, weights, ops.ones_like(weights))
        alpha = ops.where(weights != 0, applied / safe, 0.0)
        weight_reuse.store(weighting, alpha)
        checks = [c for pair in collected.checks for c in pair]
        return list(pieces) + [own_grads[id(v)] for v in owned] + checks

    def reuse():
        pieces = _zeros_for_none(tape.gradient(reused, targets), targets)
        own = _zeros_for_none(tape.gradient(weighted_sum, owned), owned)
        weighting.record_applied_weights(alpha * terms.weights * terms.present)
        checks = []
        for _ in collected.checks:
            checks += [tf.constant(True), tf.constant("")]
        return list(pieces) + list(own) + checks

    # `tf.cond` traces `update` first: `reuse` then knows how many checks
    # to pass through.
    out = tf.cond(weight_reuse.due(weighting), update, reuse)
    weight_reuse.advance(weighting)
    pieces = out[: len(targets)]
    own_grads = {
        id(v): g
        for v, g in zip(owned, out[len(targets) : len(targets) + len(owned)])
    }
    checks = out[len(targets) + len(owned) :]
    for i in range(0, len(checks), 2):
        guard.add(checks[i], checks[i + 1])
    grads = variable_gradients(
        tape, parts, targets, pieces, own_grads, terms, scaled, scale
    )
    return finish_step(parts, guard, grads, (y_pred, terms.losses, terms.total))


def _zeros_for_none(grads, sources):
    return [
        ops.zeros_like(s) if g is None else g for g, s in zip(grads, sources)
    ]


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out
