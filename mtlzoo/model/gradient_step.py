"""The train step of gradient methods: per-task gradients, combined.

The step, in four moves (`gradient_method_step`):

1. forward pass and weighted task losses, under one persistent tape;
2. one backward pass per task (`per_task_gradients`): the task's row of
   the task-gradient matrix (with respect to the shared parameters, or to
   the shared features in representation mode) and the gradients of the
   variables only that task, or its branch group, uses;
3. the weighting method combines the rows into one update of the shared
   part (`mtlzoo.model.gradient_combination`);
4. the gradients of every variable are assembled (`variable_gradients`)
   and applied by the main and head optimizers, if every check of the
   step passed (`mtlzoo.model.train_step.finish_step`).
"""

import collections

import tensorflow as tf
from keras import ops

from mtlzoo.model.distribution import replicas
from mtlzoo.model.distribution import scale_loss_for_distribution
from mtlzoo.model.gradient_combination import combine_task_gradients
from mtlzoo.model.gradient_combination import stack_rows
from mtlzoo.model.train_step import finish_step
from mtlzoo.model.train_step import guarded_batch

WeightedLosses = collections.namedtuple(
    "WeightedLosses",
    ["losses", "present", "weights", "per_task", "regularization", "total"],
)
WeightedLosses.__doc__ = """What a gradient step differentiates.

Fields:
    losses: `(T,)` task losses (checked for NaN/inf if asked).
    present: `(T,)` 1 where the task has labels in the batch.
    weights: `(T,)` task weights.
    per_task: list of T scalars, `weight * present * loss` of each task,
        each reaching only its own task's graph.
    regularization: scalar, the layers' `add_loss` terms.
    total: scalar, `sum(weights * present * losses) + regularization`.
"""


def gradient_method_step(parts, x, y, sample_weights):
    """One step of a gradient method.

    Args:
        parts: `mtlzoo.model.train_step.StepParts`.
        x: batch of images.
        y: dict task name -> labels.
        sample_weights: dict task name -> `(batch,)` weights.

    Returns:
        `(y_pred, losses, total)`: the predictions, the `(T,)` task losses
        and the weighted total loss (with regularisation).
    """
    rep = parts.weighting.representation_gradients
    guard, y, sample_weights = guarded_batch(parts, x, y, sample_weights)
    with tf.GradientTape(persistent=True) as tape:
        y_pred, shared = parts.forward(x, cut=rep)
        terms = weighted_losses(parts, y, y_pred, sample_weights)
        scaled = scale_loss_for_distribution(terms.total)
    scale = scale_loss_for_distribution(ops.ones(()))
    targets = shared if rep else parts.partition.combined_variables(rep)
    rows, own_grads = per_task_gradients(
        tape, terms.per_task, targets, parts.partition.task_own_variables(rep)
    )
    stats = (terms.losses, terms.weights, terms.present)
    pieces = combine_task_gradients(
        rows, targets, parts.weighting, parts.objective, stats, scale
    )
    grads = variable_gradients(
        tape, parts, targets, pieces, own_grads, terms, scaled, scale
    )
    del tape
    return finish_step(parts, guard, grads, (y_pred, terms.losses, terms.total))


def weighted_losses(parts, y, y_pred, sample_weights):
    """The `WeightedLosses` of a batch (call under the step's tape)."""
    objective = parts.objective
    task = objective.task_losses(y, y_pred, sample_weights)
    losses, _ = objective.checked(task.losses)
    weights = objective.weights()
    weighted = weights * task.present * losses
    reg = parts.forward.regularization()
    total = ops.sum(weighted) + reg
    per_task = [
        weights[i] * task.present[i] * task.separate[i]
        for i in range(len(task.separate))
    ]
    return WeightedLosses(losses, task.present, weights, per_task, reg, total)


def per_task_gradients(tape, per_task, targets, own_variables):
    """One backward pass per task.

    Each pass gives both the task's row of the task-gradient matrix and the
    gradients of the variables only it (or its branch group) uses; the
    latter are summed over tasks, which is the gradient of the weighted
    total with respect to them.

    Args:
        tape: persistent `tf.GradientTape` that recorded the losses.
        per_task: list of T scalar tensors, the weighted task losses.
        targets: list of tensors or variables. The row's coordinates.
        own_variables: list of T lists of variables (see
            `VariablePartition.task_own_variables`).

    Returns:
        `(rows, own_grads)`: T lists of gradients with respect to `targets`
        (None marks a target the task does not reach), and a dict
        `id(variable)` -> summed gradient of the own variables.
    """
    n_targets = len(targets)
    own_grads = {}
    rows = []
    for loss, own in zip(per_task, own_variables):
        g = tape.gradient(loss, targets + own)
        rows.append(g[:n_targets])
        for v, gv in zip(own, g[n_targets:]):
            gv = ops.zeros_like(v) if gv is None else gv
            key = id(v)
            own_grads[key] = gv if key not in own_grads else own_grads[key] + gv
    return rows, own_grads


def variable_gradients(
    tape, parts, targets, pieces, own_grads, terms, scaled, scale
):
    """The gradient of every trainable variable, for the optimizers.

    - combined variables: the method's update (`pieces`); in representation
      mode backpropagated from the shared features into the trunk;
    - task-own variables: `own_grads` (scaled for the replicas);
    - variables no task output reaches (only losses do, e.g. a weighting
      method's): the gradient of the scaled total;
    - regularisers (e.g. soft-sharing couplings) add to every variable they
      touch.

    Returns:
        A list of tensors, one per `parts.partition.variables`.
    """
    partition = parts.partition
    rep = parts.weighting.representation_gradients
    combined = partition.combined_variables(rep)
    if rep:
        pieces = tape.gradient(
            targets,
            combined,
            output_gradients=pieces,
            unconnected_gradients="zero",
        )
    _, count = replicas()
    combined_ids = {id(v) for v in combined}
    rest = [v for v in partition.variables if id(v) not in combined_ids]
    grads_by_id = {
        k: g * scale if count > 1 else g for k, g in own_grads.items()
    }
    leftover = [v for v in rest if id(v) not in grads_by_id]
    if leftover:
        more = tape.gradient(scaled, leftover, unconnected_gradients="zero")
        grads_by_id.update(zip((id(v) for v in leftover), more))
    grads_by_id.update(zip((id(v) for v in combined), pieces))
    if parts.forward.has_regularization():
        # Leftovers already have theirs via `scaled`.
        done = {id(v) for v in leftover}
        reg_vars = [v for v in partition.variables if id(v) not in done]
        reg_grads = tape.gradient(
            terms.regularization * scale,
            reg_vars,
            unconnected_gradients="zero",
        )
        for v, r in zip(reg_vars, reg_grads):
            grads_by_id[id(v)] = grads_by_id[id(v)] + r
    return [grads_by_id[id(v)] for v in partition.variables]


def task_gradient_matrix(parts, x, y, sample_weights, representation):
    """Per-task gradients of the unweighted task losses, inference mode.

    Args:
        parts: `StepParts` (only `forward`, `objective`, `partition` are
            used).
        x, y, sample_weights: a batch, as in `gradient_method_step`.
        representation: bool. With respect to the shared features instead
            of the parameters shared by every task.

    Returns:
        `(grads, losses, present)`: a `(T, D)` tensor, the `(T,)` losses and
        the `(T,)` mask of tasks with labels.
    """
    with tf.GradientTape(persistent=True) as tape:
        y_pred, shared = parts.forward(x, training=False, cut=representation)
        task = parts.objective.task_losses(y, y_pred, sample_weights)
    targets = shared if representation else parts.partition.shared_variables
    rows = [tape.gradient(t, targets) for t in task.separate]
    del tape
    return stack_rows(rows, targets), task.losses, task.present
