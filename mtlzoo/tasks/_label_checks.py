"""The label checks of `Task`: the shape and dtype of a batch of labels
(`validate_label_spec`) and the values that break a kind's rules
(`invalid_labels`)."""

import keras


class LabelChecksMixin:
    """Label checks of `mtlzoo.tasks.Task` (a kind overrides them)."""

    def validate_label_spec(self, shape, dtype, input_shape):
        """Check a batched label's shape and dtype; raise ValueError if off.

        Args:
            shape: tuple. Batched label shape (batch dim may be None).
            dtype: str or dtype. Label dtype.
            input_shape: tuple. The model's per-sample input shape.
        """
        shape = tuple(shape)
        accepted = [tuple(s) for s in self.label_shapes(input_shape)]
        expected = accepted[0]
        per_sample = shape[1:]
        ok = per_sample in accepted and all(
            a is None or b is None or a == b
            for a, b in zip(per_sample, expected)
        )
        if not ok:
            raise ValueError(
                f"Labels of task '{self.name}' ({self.kind}) must have shape "
                f"(batch, *{expected}). Received: shape={shape}"
            )
        name = keras.backend.standardize_dtype(dtype)
        if not any(family in name for family in self.label_dtypes):
            if "int" in self.label_dtype:
                raise ValueError(
                    f"Labels of task '{self.name}' must be integer class ids "
                    f"(-1 for missing). Received: dtype={name}"
                )
            raise ValueError(
                f"Labels of task '{self.name}' ({self.kind}) must be "
                f"floating point (NaN for missing). Received: dtype={name}"
            )

    def invalid_labels(self, y_true):
        """The label values that break the kind's rules, per rule.

        Run on every batch by the train and evaluation steps (graph mode
        too): a batch with an invalid label fails with an error naming the
        task, the rule, the value and the sample, and leaves the model
        untouched. Missing labels (`missing_label`) are valid.

        Args:
            y_true: tensor. A batch of labels as given (not standardised).

        Returns:
            A list of `(bad, values, rule)`: a bool tensor marking invalid
            entries, the values to report (same shape as `bad`, batch
            first) and the rule in words ("class ids in [0, 3)..."). An
            empty list (the default) checks nothing.
        """
        return []
