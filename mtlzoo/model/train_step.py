"""The loss-level train step and what both kinds of step share.

A train step of `MultiTaskModel` is one of two:

- `loss_method_step`: the weighting method combines the task losses into
  one scalar (equal, fixed, uncertainty, FAMO, ...), one backward pass;
- `mtlzoo.model.gradient_step.gradient_method_step`: the method combines
  per-task gradients (PCGrad, MGDA, Nash-MTL, ...).

Both take a `StepParts`: the explicit objects a step works with.
"""

import dataclasses

import tensorflow as tf
from keras import ops

from mtlzoo.model.distribution import scale_loss_for_distribution


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
    """

    forward: object
    objective: object
    partition: object
    weighting: object
    optimizer: object
    head_optimizers: dict

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
    apply_gradients(parts, grads)
    return y_pred, losses, total


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
    y_pred, _ = parts.forward(x, training=False)
    task = objective.task_losses(y, y_pred, sample_weights)
    total = ops.sum(objective.weights() * task.present * task.losses)
    return y_pred, task.losses, total + parts.forward.regularization()


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
