"""TensorBoard images of dense predictions on a fixed validation batch."""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mtlzoo")
class DensePredictionImages(keras.callbacks.Callback):
    """Write dense predictions of a fixed batch to TensorBoard as images.

    At the end of every `every`-th epoch the model predicts `images` and
    each dense task is written under `log_dir/validation` as
    `dense/<task>/prediction`, coloured by its kind's `Task.colorize`:
    segmentation by class (`mtlzoo.tasks.segmentation.PALETTE`, background
    black), depth with viridis (near = dark; the colour scale is fixed
    from the labels, or from the first prediction, so colours compare
    across epochs; see `Task.value_range`) and normals mapped
    `(n + 1) / 2` to RGB. The input images (`dense/input`) and, when given,
    the labels (`dense/<task>/label`) are written once, at step 0.

    Args:
        log_dir: str. TensorBoard log directory (the same as
            `keras.callbacks.TensorBoard`'s puts the images next to its
            validation scalars).
        images: array `(N, H, W, C)` of raw images (0..255); keep `N` small
            (every image is written every time).
        labels: optional dict task name -> labels of those images.
        every: int. Write every `every` epochs. Defaults to 1.

    Example:

    >>> x, y = next(iter(val_ds))
    >>> images = mtlzoo.callbacks.DensePredictionImages(
    ...     "logs", x[:4], {k: v[:4] for k, v in y.items()})
    >>> model.fit(ds, epochs=5, callbacks=[images])
    """

    def __init__(self, log_dir, images, labels=None, every=1):
        super().__init__()
        if not isinstance(log_dir, str) or not log_dir:
            raise ValueError(
                "`log_dir` must be a non-empty path. "
                f"Received: log_dir={log_dir!r}"
            )
        images = np.asarray(images, dtype="float32")
        if images.ndim != 4 or images.shape[0] < 1:
            raise ValueError(
                "`images` must be a batch (N, H, W, C) with N >= 1. "
                f"Received: images.shape={images.shape}"
            )
        if labels is not None and not isinstance(labels, dict):
            raise ValueError(
                "`labels` must be a dict task name -> labels. "
                f"Received: labels of type {type(labels).__name__}"
            )
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"`every` must be a positive int. Received: every={every!r}"
            )
        self.log_dir = log_dir
        self.images = images
        self.labels = {k: np.asarray(v) for k, v in (labels or {}).items()}
        self.every = every
        self._writer = None
        self._ranges = {}

    def get_config(self):
        return {"log_dir": self.log_dir, "every": self.every}

    def dense_tasks(self):
        """The model's dense tasks (`Task.is_dense`), a list of `Task`."""
        tasks = getattr(self.model, "tasks", None)
        if not tasks:
            raise ValueError(
                "DensePredictionImages needs a mtlzoo.MultiTaskModel. "
                f"Received: model of type {type(self.model).__name__}"
            )
        return [t for t in tasks if t.is_dense]

    def on_train_begin(self, logs=None):
        dense = self.dense_tasks()
        if not dense:
            raise ValueError(
                "DensePredictionImages needs at least one dense task "
                "(segmentation, depth, normals, ...). Received: tasks="
                f"{[t.name for t in self.model.tasks]}"
            )
        unknown = sorted(set(self.labels) - {t.name for t in self.model.tasks})
        if unknown:
            raise ValueError(
                f"`labels` names unknown task(s) {unknown}. "
                f"Received: labels keys={sorted(self.labels)}"
            )
        self._writer = tf.summary.create_file_writer(
            f"{self.log_dir}/validation"
        )
        n = len(self.images)
        with self._writer.as_default(step=0):
            pixels = np.clip(self.images, 0, 255).astype("uint8")
            if pixels.shape[-1] == 1:
                pixels = np.repeat(pixels, 3, axis=-1)
            tf.summary.image("dense/input", pixels[..., :3], max_outputs=n)
            for task in dense:
                if task.name not in self.labels:
                    continue
                label = self.labels[task.name]
                self._fix_range(task, label)
                rgb = task.colorize(label, self._ranges.get(task.name))
                tf.summary.image(f"dense/{task.name}/label", rgb, max_outputs=n)
        self._writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.write(epoch + 1)

    def write(self, step):
        """Predict the batch and write the dense outputs at `step`."""
        out = self.model.predict(self.images, verbose=0)
        n = len(self.images)
        with self._writer.as_default(step=step):
            for task in self.dense_tasks():
                pred = np.asarray(out[task.name])
                if task.name not in self._ranges:
                    self._fix_range(task, pred)
                rgb = task.colorize(pred, self._ranges.get(task.name))
                tf.summary.image(
                    f"dense/{task.name}/prediction", rgb, max_outputs=n
                )
        self._writer.flush()

    def _fix_range(self, task, values):
        """Keep the task's colour scale (if its kind has one) from
        `values`, so later images use the same colours."""
        value_range = task.value_range(values)
        if value_range is not None:
            self._ranges[task.name] = value_range

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
