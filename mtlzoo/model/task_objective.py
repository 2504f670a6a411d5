"""Per-task losses, their presence in the batch and their weights."""

import collections

from keras import ops

from mtlzoo.model.distribution import replicas
from mtlzoo.weighting import checks

TaskLosses = collections.namedtuple(
    "TaskLosses", ["losses", "present", "separate"]
)
TaskLosses.__doc__ = """The task losses of one batch.

Under `tf.distribute` with several replicas, both are the global batch's
(every replica's labels), the same on every replica: see
`mtlzoo.tasks.Task.compute_loss`.

Fields:
    losses: `(T,)` tensor. Masked mean loss of each task.
    present: `(T,)` float tensor. 1 where the task has a label in the batch.
    separate: list of T scalar tensors. The losses before stacking: a
        gradient of a slice of the stacked vector flows back through every
        task's graph (zeros for the others); from the scalar it only reaches
        its own.
"""


class TaskObjective:
    """What a step minimises: the tasks' losses times their weights.

    Args:
        tasks: list of `mtlzoo.Task`, in model order.
        task_weights: list of scalar variables, one per task, in the same
            order. Read at every step, so assigning them changes training.
        check_finite: bool. Fail naming the task when a task loss (or
            gradient, see `checked`) is NaN or inf. Defaults to True.

    Example:

    >>> objective = TaskObjective(model.tasks, weights, check_finite=True)
    >>> out = objective.task_losses(y, y_pred, sample_weights)
    """

    def __init__(self, tasks, task_weights, check_finite=True):
        self.tasks = list(tasks)
        self.task_names = [t.name for t in self.tasks]
        self.task_weights = list(task_weights)
        self.check_finite = bool(check_finite)
        # Set by the step: a `StepGuard` that collects the checks (the
        # step then raises after restoring the model) instead of asserting.
        self.guard = None

    def task_losses(self, y, y_pred, sample_weights):
        """The `TaskLosses` of a batch (no finite check).

        Args:
            y: dict task name -> labels.
            y_pred: dict task name -> predictions.
            sample_weights: dict task name -> `(batch,)` weights; tasks
                without an entry weigh every sample 1.
        """
        losses, counts = [], []
        for task in self.tasks:
            n = task.name
            sw = sample_weights.get(n)
            loss = task.compute_loss(y[n], y_pred[n], sw)
            mask = task.label_mask(y[n], y_pred[n])
            if sw is not None:
                mask = task._apply_sample_weight(mask, sw)
            losses.append(loss)
            counts.append(ops.sum(ops.cast(mask, "float32")))
        counts = ops.stack(counts)
        ctx, count = replicas()
        if count > 1:
            # A task labelled on any replica is present on all of them.
            counts = ctx.all_reduce("sum", counts)
        present = ops.cast(counts > 0, "float32")
        return TaskLosses(ops.stack(losses), present, losses)

    def weights(self):
        """The current task weights as a `(T,)` tensor."""
        return ops.stack([w.value for w in self.task_weights])

    def checked(self, losses, grads=None):
        """`(losses, grads)` passed through the NaN/inf guard (if on).

        With a `guard`, the checks are recorded there (see
        `mtlzoo.weighting.checks.finite_checks`); otherwise they are
        assertions (`mtlzoo.weighting.checks.assert_finite`).
        """
        if not self.check_finite:
            return losses, grads
        if self.guard is None:
            return checks.assert_finite(losses, grads, self.task_names)
        # With gradients, the losses were checked already (same step).
        first = losses if grads is None else None
        for ok, message in checks.finite_checks(first, grads, self.task_names):
            self.guard.add(ok, message)
        return losses, grads
