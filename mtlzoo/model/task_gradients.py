"""`MultiTaskModel.task_gradients`: per-task gradients for conflict
logging and task-affinity analysis."""

import tensorflow as tf
from keras import ops

from mtlzoo.model.gradient_step import task_gradient_matrix
from mtlzoo.model.labels import standardize_labels


class TaskGradientsMixin:
    """The `task_gradients` method of `MultiTaskModel`."""

    def task_gradients(self, x, y, sample_weight=None, representation=False):
        """Per-task gradients of the unweighted task losses, shared part.

        Used for gradient-conflict logging and task-affinity analysis. Runs
        the model in inference mode (no dropout, frozen BatchNorm stats).

        Args:
            x: batch of images.
            y: dict task name -> labels for the batch.
            sample_weight: optional dict task name -> `(batch,)` weights.
            representation: bool. Gradients with respect to the shared
                features instead of the parameters shared by all tasks.

        Returns:
            `(grads, losses, present)`: a `(T, D)` tensor (rows in
            `task_names` order), the `(T,)` losses and the `(T,)` mask of
            tasks with labels in the batch.
        """
        x = ops.convert_to_tensor(x)
        y = tf.nest.map_structure(ops.convert_to_tensor, y)
        y, sw = standardize_labels(
            self.tasks, self.input_shape_, y, sample_weight
        )
        sw = {k: ops.convert_to_tensor(v, "float32") for k, v in sw.items()}
        if self._state.partition is None:
            self._state.partition = self._partition()
        key = bool(representation)
        cache = self._state.task_gradient_fns
        if key not in cache:
            cache[key] = tf.function(
                lambda x, y, sw: task_gradient_matrix(
                    self._step_parts(), x, y, sw, key
                ),
                reduce_retracing=True,
            )
        return cache[key](x, y, sw)
