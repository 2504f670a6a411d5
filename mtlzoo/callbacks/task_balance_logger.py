"""TensorBoard logging of task weights, task losses and gradient conflict."""

import itertools

import keras
import numpy as np
import tensorflow as tf


def cosine_matrix(grads):
    """Pairwise cosine similarity of the rows of a `(T, D)` matrix.

    Rows of zeros (a task without labels) give 0 similarity.
    """
    grads = np.asarray(grads, dtype="float64")
    norms = np.linalg.norm(grads, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = grads / safe[:, None]
    out = unit @ unit.T
    out[norms == 0, :] = 0.0
    out[:, norms == 0] = 0.0
    return out


def _applied_weights(model):
    """Task name -> the weight the model's method applied last (if any)."""
    logs = getattr(model.weighting, "applied_weight_logs", None)
    if logs is None:
        return {}
    suffix = len("_applied_weight")
    return {k[:-suffix]: np.asarray(v) for k, v in logs().items()}


@keras.saving.register_keras_serializable(package="mtlzoo")
class TaskBalanceLogger(keras.callbacks.Callback):
    """Write task weights, task losses and gradient conflict to TensorBoard.

    Scalars, under `log_dir/train`: `task_weight/<task>` (the task-weight
    variable as the step used it, the same value as Keras'
    `epoch_<task>_weight` at the same step), `applied_weight/<task>` (the
    weight the weighting method applied, see
    `mtlzoo.weighting.Weighting.applied_weight_logs`),
    `task_loss/<task>` (unweighted, as in the logs) and, when
    `conflict_data` is given, `gradient_cosine/<a>__<b>` — the cosine
    similarity of two tasks' gradients on the shared parameters (or shared
    features), the conflict that PCGrad/CAGrad address (negative = the
    tasks pull the trunk in opposite directions) — plus
    `gradient_norm/<task>`.

    Args:
        log_dir: str. TensorBoard log directory.
        update_freq: `"epoch"` or int. Log at every epoch end, or every
            `update_freq` training batches. Defaults to `"epoch"`.
        conflict_data: optional `(x, y)` batch used to measure gradient
            conflict (kept fixed so values are comparable over time).
        representation: bool. Measure conflict on the shared features
            instead of the shared parameters. Defaults to False.

    Example:

    >>> logger = mtlzoo.callbacks.TaskBalanceLogger(
    ...     "logs", update_freq=50, conflict_data=(x[:32], y_first_32))
    >>> model.fit(ds, epochs=5, callbacks=[logger])
    """

    def __init__(
        self,
        log_dir,
        update_freq="epoch",
        conflict_data=None,
        representation=False,
    ):
        super().__init__()
        if not isinstance(log_dir, str) or not log_dir:
            raise ValueError(
                "`log_dir` must be a non-empty path. "
                f"Received: log_dir={log_dir!r}"
            )
        if update_freq != "epoch" and not (
            isinstance(update_freq, int)
            and not isinstance(update_freq, bool)
            and update_freq > 0
        ):
            raise ValueError(
                "`update_freq` must be 'epoch' or a positive int. "
                f"Received: update_freq={update_freq!r}"
            )
        if conflict_data is not None and (
            not isinstance(conflict_data, (tuple, list))
            or len(conflict_data) not in (2, 3)
        ):
            raise ValueError(
                "`conflict_data` must be an (x, y) or (x, y, sample_weight) "
                f"tuple. Received: conflict_data of type "
                f"{type(conflict_data).__name__}"
            )
        self.log_dir = log_dir
        self.update_freq = update_freq
        self.conflict_data = conflict_data
        self.representation = bool(representation)
        self._writer = None
        self._step = 0

    def get_config(self):
        return {
            "log_dir": self.log_dir,
            "update_freq": self.update_freq,
            "representation": self.representation,
        }

    def on_train_begin(self, logs=None):
        names = getattr(self.model, "task_names", None)
        if not names:
            raise ValueError(
                "TaskBalanceLogger needs a mtlzoo.MultiTaskModel. "
                f"Received: model of type {type(self.model).__name__}"
            )
        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/train")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.update_freq != "epoch" and self._step % self.update_freq == 0:
            self._write(logs or {}, self._step)

    def on_epoch_end(self, epoch, logs=None):
        if self.update_freq == "epoch":
            self._write(logs or {}, epoch)

    def measure(self):
        """Per-task gradient cosine matrix and norms on `conflict_data`."""
        data = self.conflict_data
        grads, _, _ = self.model.task_gradients(
            data[0],
            data[1],
            data[2] if len(data) == 3 else None,
            representation=self.representation,
        )
        grads = np.asarray(grads)
        return cosine_matrix(grads), np.linalg.norm(grads, axis=1)

    def _write(self, logs, step):
        model = self.model
        with self._writer.as_default(step=step):
            applied = _applied_weights(model)
            for name in model.task_names:
                # From the step logs when there: the weight the epoch's
                # last step used, as Keras' `epoch_<task>_weight` (the
                # variable may already hold the next epoch's weight).
                weight = logs.get(f"{name}_weight", model.task_weights[name])
                tf.summary.scalar(f"task_weight/{name}", float(weight))
                value = logs.get(f"{name}_applied_weight", applied.get(name))
                if value is not None:
                    tf.summary.scalar(f"applied_weight/{name}", float(value))
                if f"{name}_loss" in logs:
                    loss = float(logs[f"{name}_loss"])
                    tf.summary.scalar(f"task_loss/{name}", loss)
            if self.conflict_data is not None:
                cos, norms = self.measure()
                names = model.task_names
                for i, j in itertools.combinations(range(len(names)), 2):
                    tag = f"gradient_cosine/{names[i]}__{names[j]}"
                    tf.summary.scalar(tag, float(cos[i, j]))
                for i, name in enumerate(names):
                    tf.summary.scalar(f"gradient_norm/{name}", float(norms[i]))
        self._writer.flush()
