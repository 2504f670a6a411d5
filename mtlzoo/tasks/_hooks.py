"""The hooks of `Task` that tests, the app, export and plots call:
random labels, decoding, post-processing, summaries, descriptions and
colours of one prediction, export agreement numbers."""

import numpy as np

from mtlzoo.tasks import _class_names


class TaskHooksMixin:
    """Hooks of `mtlzoo.tasks.Task` with the defaults a kind overrides."""

    def random_labels(self, rng, input_shape, batch_size):
        """Random valid labels `(batch_size, *label_shape)` (for tests).

        Args:
            rng: `numpy.random.Generator`.
            input_shape: tuple. Per-sample image shape.
            batch_size: int.

        Returns:
            A numpy array of dtype `label_dtype`.
        """
        raise NotImplementedError

    # ---------------------------------------------------------- app hooks
    def names(self, class_names=None):
        """`class_names` if given, else the task's own (may be None)."""
        return self.class_names if class_names is None else class_names

    def class_scores(self, value):
        """Per-class scores of one prediction (kinds with classes), for
        `decode_predictions`."""
        raise NotImplementedError

    def decode_predictions(self, outputs, top=3):
        """The `top` classes of each prediction, best first.

        Like `keras.applications.imagenet_utils.decode_predictions`, for
        kinds with classes: classification and multilabel scores,
        segmentation pixel fractions, a box's class scores.

        Args:
            outputs: array `(batch, ...)` of this task's outputs, or the
                model's output dict.
            top: int. Classes per sample. Defaults to 3.

        Returns:
            A list (one per sample) of lists of `(class_name, score)`
            tuples; class ids stand in when the task has no
            `class_names`.

        Example:

        >>> task = mtlzoo.Task("pet", "classification", num_classes=3,
        ...                    class_names=["cat", "dog", "fish"])
        >>> task.decode_predictions([[0.1, 0.7, 0.2]], top=2)
        [[('dog', 0.7), ('fish', 0.2)]]
        """
        return _class_names.decode_predictions(self, outputs, top)

    def decode(self, value):
        """One prediction in label form (e.g. class probabilities -> class
        id). Defaults to the value itself."""
        return np.asarray(value)

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """One prediction as plain values in the frame of the image that
        the model's input was cut from (see `mtlzoo.postprocess`).

        Args:
            value: array. One sample's output.
            crop_box: `(left, top, right, bottom)`. The region of the image
                (in its pixels) resized into the model's input.
            image_size: `(height, width)` of that image.
            threshold: float. Cut-off for probabilities turned into
                decisions (masks, labels). Defaults to 0.5.

        Returns:
            dict of NumPy arrays and Python numbers. Defaults to
            `{"values": value}` (float64).
        """
        return {"values": np.asarray(value, "float64")}

    def summarize(self, value, class_names=None, top_k=3):
        """A JSON-able summary of one prediction (what `mtlzoo predict`
        prints); `class_names` default to the task's. Defaults to the list
        of its values."""
        return [float(v) for v in np.ravel(value)]

    def describe(self, value, class_names=None):
        """One line of text for one prediction or label of this task;
        `class_names` default to the task's."""
        return ", ".join(f"{v:.3g}" for v in np.ravel(value))

    @classmethod
    def colorize(cls, values, value_range=None):
        """A batch of dense maps as uint8 RGB images `(N, H, W, 3)`;
        None for kinds that are not dense."""
        return None

    @classmethod
    def value_range(cls, values):
        """The `(low, high)` that `colorize` should use for `values` across
        calls (so images stay comparable), or None if colours need none."""
        return None

    @classmethod
    def check_export(cls, expected, got, labels=None):
        """Kind-specific agreement numbers of an exported model's output.

        Args:
            expected: float64 array. Keras outputs.
            got: float64 array. Exported-model outputs, same shape.
            labels: optional array of the task's labels.

        Returns:
            dict of numbers (see `mtlzoo.export.compare`). Defaults to {}.
        """
        return {}
