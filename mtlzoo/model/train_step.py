"""The loss-level train step and what both kinds of step share.

A train step of `MultiTaskModel` is one of two:

- `loss_method_step`: the weighting method combines the task losses into
  one scalar (equal, fixed, uncertainty, FAMO, ...), one backward pass;
- `mtlzoo.model.gradient_step.gradient_method_step`: the method combines
  per-task gradients (PCGrad, MGDA, Nash-MTL, ...).

Both take a `StepParts`: the explicit objects a step works with, and
both are all-or-nothing (`mtlzoo.model.step_guard.StepGuard`): the batch
(finite images, valid labels and sample weights), the task losses and the
gradients are checked, and when a check fails the step leaves every
variable as it was and raises an error naming the culprit.
"""

import dataclasses

import tensorflow as tf
from keras import ops

from mtlzoo.model import input_range
from mtlzoo.model.batch_checks import check_batch
from mtlzoo.model.batch_checks import check_inputs as check_inputs_finite
from mtlzoo.model.distribution import scale_loss_for_distribution
from mtlzoo.model.step_guard import StepGuard


@dataclasses.dataclass
class StepParts:
    """The objects a train step uses, passed explicitly.

    Attributes:
        forward: `ForwardPass`. Runs the model (whole or cut at the shared
            features) and sums the layers' regularisation losses.
        objective: `TaskObjective`. Task losses, presence and weights.
        partition: `VariablePartition`. Who uses which variable.
        weighting: `mtlzoo.weighting.Weighting`. The balancing method.
        optimizer: `keras.optimizers.Optimizer`. For the main variables.
        head_optimizers: dict task name -> optimizer for that task's head
            variables (may be empty).
        batch: `(y, sample_weights)` as the step checked and used them
            (labels whose batch size differs replaced by missing ones),
            set by the step for the metric updates. Defaults to None.
    """

    forward: object
    objective: object
    partition: object
    weighting: object
    optimizer: object
    head_optimizers: dict
    batch: tuple = None

    def uses_gradient_method(self):
        """Whether the step combines per-task gradients.

        True for a gradient method when there is something to combine (the
        tasks share parameters, or features in representation mode);
        otherwise the method's loss combination is used.
        """
        rep = self.weighting.representation_gradients
        shared = self.partition.combined_variables(rep)
        return bool(self.weighting.requires_gradients and shared)


def loss_method_step(parts, x, y, sample_weights):
    """One step of a loss-level method: one backward pass.

    Args:
        parts: `StepParts`.
        x: batch of images.
        y: dict task name -> labels.
        sample_weights: dict task name -> `(batch,)` weights.

    Returns:
        `(y_pred, losses, total)`: the predictions, the `(T,)` task losses
        and the combined loss (with regularisation) that was minimised.
    """
    objective = parts.objective
    guard, y, sample_weights = guarded_batch(parts, x, y, sample_weights)
    with tf.GradientTape() as tape:
        y_pred, _ = parts.forward(x)
        task = objective.task_losses(y, y_pred, sample_weights)
        losses, _ = objective.checked(task.losses)
        weights = objective.weights()
        total = applied_loss_combination(
            parts.weighting, losses, weights, task.present
        )
        total = total + parts.forward.regularization()
        scaled = scale_loss_for_distribution(total)
        scaled = parts.optimizer.scale_loss(scaled)
    variables = parts.partition.variables
    grads = tape.gradient(scaled, variables)
    return finish_step(parts, guard, grads, (y_pred, losses, total))


def guarded_batch(parts, x, y, sample_weights):
    """Start an all-or-nothing step: a `StepGuard` (state read before the
    forward pass), the batch's checks recorded in it, and the labels and
    weights to use (see `mtlzoo.model.batch_checks.check_batch`).

    Returns:
        `(guard, y, sample_weights)`.
    """
    model = parts.forward.model
    guard = StepGuard(model, parts.weighting)
    parts.objective.guard = guard
    input_range.record(model, x)
    y, sample_weights = check_batch(
        guard,
        parts.objective.tasks,
        x,
        y,
        sample_weights,
        inputs=parts.objective.check_finite,
    )
    parts.batch = (y, sample_weights)
    return guard, y, sample_weights


def finish_step(parts, guard, grads, outputs):
    """Check the gradients, apply them if every check passed, restore the
    state and raise if one failed.

    Args:
        parts: `StepParts`.
        guard: the step's `StepGuard`.
        grads: list of tensors, one per `parts.partition.variables`.
        outputs: the step's results, returned after the checks.
    """
    if parts.objective.check_finite:
        check_gradients(guard, grads, parts.partition.variables)
    ensure_built(parts)
    guard.apply(lambda g: apply_gradients(parts, g), list(grads))
    return guard.finish(outputs)


def check_gradients(guard, grads, variables):
    """Record "every gradient is finite", naming the first bad variable."""
    pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
    if not pairs:
        return
    sums = tf.stack([tf.cast(tf.reduce_sum(g), "float32") for g, _ in pairs])
    finite = tf.math.is_finite(sums)
    first = tf.argmin(tf.cast(finite, "int32"), output_type="int32")
    names = tf.constant([v.path for _, v in pairs])
    guard.add(
        tf.reduce_all(finite),
        tf.strings.format(
            "The update is NaN or inf although the task losses are finite "
            "(a diverging model or learning rate). Received: a non-finite "
            "gradient for variable {}",
            tf.gather(names, first),
        ),
    )


def ensure_built(parts):
    """Build the optimizers' slots before the update is made conditional
    (variables cannot be created inside a `tf.cond`)."""
    pairs = [(parts.optimizer, parts.partition.main_variables)]
    for name, opt in (parts.head_optimizers or {}).items():
        pairs.append((opt, parts.partition.head_variables[name]))
    if not parts.head_optimizers:
        pairs = [(parts.optimizer, parts.partition.variables)]
    for optimizer, variables in pairs:
        if optimizer is not None and not optimizer.built:
            optimizer.build(variables)


def applied_loss_combination(weighting, losses, weights, present):
    """`weighting.combine_losses(...)`, recording the weights it applied.

    The applied weight of task t is `d total / d L_t` (see
    `Weighting.applied_weight_logs`), from a tape over the `(T,)` losses.
    """
    with tf.GradientTape() as tape:
        tape.watch(losses)
        total = weighting.combine_losses(losses, weights, present)
    applied = tape.gradient(total, losses)
    if applied is not None:
        weighting.record_applied_weights(tf.stop_gradient(applied))
    return total


def evaluation_losses(parts, x, y, sample_weights):
    """The evaluation losses of a batch (inference mode).

    The total is the plain weighted sum: evaluation must not move a
    method's state (FAMO) and stays comparable across methods.

    Returns:
        `(y_pred, losses, total)` as `loss_method_step`.
    """
    objective = parts.objective
    model = parts.forward.model
    guard = StepGuard(model, restore=False)
    input_range.record(model, x)
    y, sample_weights = check_batch(
        guard, objective.tasks, x, y, sample_weights
    )
    parts.batch = (y, sample_weights)
    y_pred, _ = parts.forward(x, training=False)
    task = objective.task_losses(y, y_pred, sample_weights)
    total = ops.sum(objective.weights() * task.present * task.losses)
    total = total + parts.forward.regularization()
    return guard.finish((y_pred, task.losses, total))


def prediction(model, x, check_inputs=True):
    """The model's outputs for `x` (inference mode), the images checked.

    Args:
        model: `MultiTaskModel`.
        x: batch of images.
        check_inputs: bool. Raise when an image holds NaN or inf. Defaults
            to True.
    """
    input_range.record(model, x)
    y_pred = model(x, training=False)
    if not check_inputs:
        return y_pred
    guard = StepGuard(model, restore=False)
    images = [t for t in tf.nest.flatten(x) if hasattr(t, "dtype")]
    for tensor in images:
        check_inputs_finite(guard, tensor)
    return guard.finish(y_pred)


def apply_gradients(parts, grads):
    """Apply gradients with the main and the head optimizers.

    Args:
        parts: `StepParts`.
        grads: list of tensors, one per `parts.partition.variables`.
    """
    variables = parts.partition.variables
    if not parts.head_optimizers:
        parts.optimizer.apply_gradients(zip(grads, variables))
        return
    by_id = dict(zip((id(v) for v in variables), grads))
    main = parts.partition.main_variables
    parts.optimizer.apply_gradients([(by_id[id(v)], v) for v in main])
    for name, opt in parts.head_optimizers.items():
        own = parts.partition.head_variables[name]
        opt.apply_gradients([(by_id[id(v)], v) for v in own])
