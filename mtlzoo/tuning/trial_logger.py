"""Callback adding model cost (and a search score) to the epoch logs."""

import time

import keras
import numpy as np


class TrialLogger(keras.callbacks.Callback):
    """Adds `params`, `step_time` and optionally a score to epoch logs.

    `MultiTaskHyperModel.fit` puts it first in the callback list, so the
    keys are in the logs that keras-tuner's checkpointing and the `History`
    see. `step_time` is the median wall time of a training step in seconds,
    without the first step of each `fit` (graph tracing).

    Args:
        objective: `MultiTaskObjective` or None. When given, its value is
            written under its name (e.g. `val_delta_m`) at each epoch end,
            so a plain `keras_tuner.Objective("val_delta_m", "max")` works.
    """

    def __init__(self, objective=None):
        super().__init__()
        self.objective = objective
        self._times = []
        self._start = None
        self._seen = 0

    def on_train_begin(self, logs=None):
        self._times = []
        self._seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._start is None:
            return
        elapsed = time.perf_counter() - self._start
        self._seen += 1
        if self._seen > 1:
            self._times.append(elapsed)
        else:
            self._first = elapsed

    def step_time(self):
        if self._times:
            return float(np.median(self._times))
        return float(getattr(self, "_first", float("nan")))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["params"] = float(self.model.count_params())
        logs["step_time"] = self.step_time()
        objective = self.objective
        if objective is not None and hasattr(objective, "compute"):
            if all(k in logs for k in objective.metrics):
                logs[objective.name] = objective.compute(logs)
