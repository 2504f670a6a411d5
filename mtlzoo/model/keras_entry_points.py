"""The Keras entry points of `MultiTaskModel`: `fit`, `evaluate`,
`predict`, `load_weights` and the step functions Keras makes, each with
the checks and additions of the multi-task model."""

import keras

from mtlzoo.model.argument_checks import check_images
from mtlzoo.model.batch_norm import RecalibrateBatchNorm
from mtlzoo.model.batch_norm import fit_batches
from mtlzoo.model.freezing import check_compiled_trainables
from mtlzoo.model.labels import complete_sample_weight
from mtlzoo.model.multi_worker import needs_symbolic_build
from mtlzoo.model.step_errors import checked_function
from mtlzoo.model.train_step import prediction
from mtlzoo.model.weighting_callbacks import with_weighting_callbacks
from mtlzoo.model.weights_file import check_weights_file


class KerasEntryPointsMixin:
    """`keras.Model` overrides of `MultiTaskModel` (listed before
    `keras.Model` in its bases, so `super()` reaches Keras)."""

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, plus the weighting method's callbacks.

        A weighting method that adapts per epoch (e.g. DWA) returns Keras
        callbacks from `callbacks()`; they are appended to the callbacks
        given, unless the same instance is already there. Arguments are
        those of `keras.Model.fit`. With `batch_norm="recalibrate"`, the
        BatchNorm moving statistics are re-estimated on training batches
        before each validation and at the end
        (`mtlzoo.model.batch_norm.RecalibrateBatchNorm`).
        """
        check_compiled_trainables(self)
        check_images(self, args[0] if args else kwargs.get("x"), "fit")
        # Before any callback (BackupAndRestore) loads optimizer slots.
        self._state.build_optimizers(self)
        extra = []
        if self.batch_norm_policy == "recalibrate":
            extra = [RecalibrateBatchNorm(*fit_batches(args, kwargs))]
        if len(args) > 5:  # `callbacks` passed by position
            args = list(args)
            args[5] = with_weighting_callbacks(args[5], self.weighting, self)
            args[5] = _added(args[5], extra, self)
        else:
            kwargs["callbacks"] = _added(
                with_weighting_callbacks(
                    kwargs.get("callbacks"), self.weighting, self
                ),
                extra,
                self,
            )
        args = _complete_sample_weight(self, args, kwargs, 10)
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`; a `sample_weight` dict may name only some
        tasks (the others weigh 1). Images with NaN or inf, invalid labels
        or sample weights raise a `ValueError` naming the culprit."""
        check_images(self, args[0] if args else kwargs.get("x"), "evaluate")
        args = _complete_sample_weight(self, args, kwargs, 4)
        return super().evaluate(*args, **kwargs)

    def predict(self, x, *args, check_finite=True, **kwargs):
        """`keras.Model.predict`, refusing images with NaN or inf.

        Args:
            x: images, as for `keras.Model.predict`.
            check_finite: bool. Raise a `ValueError` naming the first
                sample with a NaN or inf pixel; pass False to get the
                model's (non-finite) outputs instead. Defaults to True.
            *args, **kwargs: the other arguments of `keras.Model.predict`.
        """
        check_images(self, x, "predict")
        check_finite = bool(check_finite)
        if getattr(self._state, "predict_checks", True) != check_finite:
            self._state.predict_checks = check_finite
            self.predict_function = None
        return super().predict(x, *args, **kwargs)

    def predict_step(self, data):
        """Outputs for a batch, the images checked (see `predict`)."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        checks = getattr(self._state, "predict_checks", True)
        return prediction(self, x, check_inputs=checks)

    def load_weights(self, filepath, *args, **kwargs):
        """`keras.Model.load_weights`, refusing a file saved by a model with
        other tasks (see `mtlzoo.model.weights_file`)."""
        check_weights_file(self, filepath)
        return super().load_weights(filepath, *args, **kwargs)

    def _maybe_symbolic_build(self, *args, **kwargs):
        # Keras' build before fit/evaluate fails with several workers
        # (keras-team/keras#20585); see `mtlzoo.model.multi_worker`.
        if needs_symbolic_build(self):
            super()._maybe_symbolic_build(*args, **kwargs)

    # The functions Keras runs raise the checks' errors as ValueErrors.
    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = checked_function(self, self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = checked_function(self, self.test_function)
        return self.test_function

    def make_predict_function(self, force=False):
        super().make_predict_function(force)
        self.predict_function = checked_function(self, self.predict_function)
        return self.predict_function

    @property
    def metrics(self):
        out = []
        if self.compiled and self._loss_tracker is not None:
            out.append(self._loss_tracker)
        out.extend(self._task_loss_trackers.values())
        if self.losses:
            out.append(self._regularization_tracker)
        for name in self.task_names:
            out.extend(self._task_metrics[name])
        return out


def _complete_sample_weight(model, args, kwargs, index):
    """`args` with `sample_weight` (keyword, completed in `kwargs`, or at
    `args[index]`) completed (see
    `mtlzoo.model.labels.complete_sample_weight`)."""
    if "sample_weight" in kwargs:
        kwargs["sample_weight"] = complete_sample_weight(
            model.task_names, kwargs["sample_weight"]
        )
    elif len(args) > index:
        args = list(args)
        args[index] = complete_sample_weight(model.task_names, args[index])
    return args


def _added(callbacks, extra, model):
    """`callbacks` (a list, None or a `CallbackList`) plus `extra`."""
    if not extra:
        return callbacks
    if isinstance(callbacks, keras.callbacks.CallbackList):
        for callback in extra:
            callback.set_model(model)
            callbacks.callbacks.append(callback)
        return callbacks
    return list(callbacks or []) + list(extra)
