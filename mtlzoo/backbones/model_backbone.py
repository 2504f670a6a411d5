"""`ModelBackbone`: your own functional `keras.Model` as the backbone."""

import copy
import os

import keras

from mtlzoo.backbones import _weights
from mtlzoo.backbones.levels import level_taps
from mtlzoo.backbones.stage_names import STAGE_LEVELS
from mtlzoo.backbones.stages import BackboneSpec


class ModelBackbone(BackboneSpec):
    """A functional `keras.Model` of yours as a multi-task backbone.

    `mtlzoo.build(model, tasks, ...)` and `MultiTaskModel(model, ...)` wrap
    a model in this class; build it yourself to tap the levels at layers of
    your choice. Level `Pn` is the feature map at stride `2**n`; by default
    each is tapped at the last *clean cut* of its stride (a layer after
    which no layer reads a tensor from before it; see `find_levels`).

    - **Weights**: the multi-task model starts from the model's current
      weights (load pretrained ones into it first) and trains its own copy
      of it: your model object is left unchanged. Branch copies of later
      stages start from the same weights.
    - **Input**: images of `input_shape`; a model built for a fixed size
      needs that size (build it with `input_shape=(None, None, C)` to take
      any size). 1-channel images are repeated to the model's channels.
      Channels-last only.
    - **Preprocessing**: none by default: the model gets raw 0..255
      pixels, as Keras feeds `keras.applications` models that preprocess
      inside (MobileNetV3, EfficientNet, ConvNeXt). Pass
      `preprocessing="tf"`, `"torch"`, `"caffe"` or `"unit"` to
      `mtlzoo.build` otherwise (e.g. `"tf"` for MobileNetV2, `"caffe"` for
      ResNet50).
    - **Saving**: `get_config()` holds the model's Keras config
      (`keras.saving.serialize_keras_object(model)`), so `.keras` files and
      configs rebuild it. Standard Keras layers serialise as they are; a
      custom layer needs `get_config()` and
      `@keras.saving.register_keras_serializable()` (and must be imported
      before loading); `Lambda` layers do not load in safe mode.
    - **Which models**: functional models and `keras.Sequential` models
      with one image input. A subclassed model hides its layers, so no
      level can be tapped inside it: wrap it to use it as one level,
      `inputs = keras.Input(shape); keras.Model(inputs, net(inputs))`.
      Layers after the deepest level (a pooling top, a classifier) are
      not used.

    Args:
        model: `keras.Model`. A functional or Sequential model taking
            images `(batch, H, W, C)`.
        levels: dict or `None`. Level (`"P1"`..`"P5"`) -> layer name (its
            output is tapped), `"name.input"` (that layer's input) or
            `None` (the model output). Each must be a clean cut with the
            level's stride, checked when built. Defaults to `None` (found
            from the strides, `mtlzoo.backbones.find_levels`).

    Example:

    >>> inputs = keras.Input((32, 32, 3))
    >>> x = inputs
    >>> for i in range(3):
    ...     x = keras.layers.Conv2D(
    ...         8, 3, strides=2, padding="same", name=f"down_{i}")(x)
    >>> cnn = keras.Model(inputs, x, name="my_cnn")
    >>> ModelBackbone(cnn).levels
    ('P1', 'P2', 'P3')
    >>> spec = ModelBackbone(cnn, levels={"P2": "down_1", "P3": "down_2"})
    >>> model = mtlzoo.build(spec, tasks, input_shape=(32, 32, 3))
    """

    def __init__(self, model, levels=None):
        model = _functional(model)
        if levels is not None and (
            not isinstance(levels, dict)
            or not levels
            or not set(levels) <= set(STAGE_LEVELS)
        ):
            raise ValueError(
                f"`levels` must map some of the levels {STAGE_LEVELS} to "
                "layer names of the model, or be None (found from the "
                f"feature strides). Received: levels={levels!r}"
            )
        self.model = model
        super().__init__(
            model.name,
            self._clone,
            levels,
            default_preprocessing="none",
            min_input_size=1,
            native=True,
        )

    def __repr__(self):
        return f"ModelBackbone(model={self.name!r}, levels={self.levels})"

    @property
    def input_size(self):
        """`(H, W, C)` the model takes; `H`, `W` are None for any size."""
        return tuple(self.model.inputs[0].shape[1:])

    def get_config(self):
        """The model's Keras config; with explicit levels,
        `{"model": <config>, "levels": {...}}`."""
        config = keras.saving.serialize_keras_object(self.model)
        if self.taps is None:
            return config
        return {"model": config, "levels": dict(self.taps)}

    @classmethod
    def from_config(cls, config):
        """Rebuilds from `get_config()` (the model gets fresh weights)."""
        config = copy.deepcopy(config)
        levels = None
        if isinstance(config, dict) and set(config) == {"model", "levels"}:
            config, levels = config["model"], config["levels"]
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(
                "A model backbone config is a serialised keras.Model or "
                "{'model': ..., 'levels': ...}. "
                f"Received: backbone={str(config)[:200]}"
            )
        try:
            model = keras.saving.deserialize_keras_object(config)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Could not rebuild the backbone model ({error}). A custom "
                "layer must define get_config() and be registered with "
                "@keras.saving.register_keras_serializable() in code "
                "imported before loading. "
                f"Received: backbone class_name={config.get('class_name')!r}"
            ) from error
        return cls(model, levels)

    # -- hooks of `BackboneSpec.build` ----------------------------------
    def _tap_tensors(self, base):
        return level_taps(base, self.taps, argument="levels")

    def _probe_shape(self):
        height, width, channels = self.input_size
        if height is None or width is None:
            return (128, 128, channels)
        return (height, width, channels)

    def _trunk_shape(self, input_shape):
        return input_shape[:2] + self.input_size[2:]

    def _channels_out(self, input_shape):
        channels = self.input_size[2]
        return None if input_shape[2] == channels else channels

    def _validate_input_shape(self, input_shape):
        height, width, channels = self.input_size
        ok = isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
        ok = ok and all(isinstance(d, int) and d > 0 for d in input_shape)
        if not ok:
            raise ValueError(
                f"Backbone model '{self.name}' needs input_shape=(H, W, C) "
                f"with static positive ints. Received: "
                f"input_shape={input_shape!r}"
            )
        fixed = height is not None and width is not None
        if fixed and tuple(input_shape[:2]) != (height, width):
            raise ValueError(
                f"Backbone model '{self.name}' was built for {height}x"
                f"{width} images; pass input_shape=({height}, {width}, "
                f"{channels}), or build the model with input_shape=(None, "
                f"None, {channels}) to take other sizes. "
                f"Received: input_shape={input_shape!r}"
            )
        if input_shape[2] not in (channels, 1):
            raise ValueError(
                f"Backbone model '{self.name}' takes {channels}-channel "
                "images (1-channel images are repeated to match). "
                f"Received: input_shape={input_shape!r}"
            )
        return tuple(input_shape)

    def _build_base(self, input_shape, weights):
        if weights is not None and not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                f"`weights` for backbone model '{self.name}' must be None "
                "(its current weights) or a weights file path. "
                f"Received: weights={weights!r}"
            )
        if weights == "imagenet":
            raise ValueError(
                f"Backbone model '{self.name}' brings its own weights: load "
                "them into the model before building (e.g. "
                "keras.applications.MobileNetV3Small(weights='imagenet', "
                "include_top=False)) and pass weights=None. "
                f"Received: weights={weights!r}"
            )
        base = self._clone(input_shape, None)
        if weights is not None:
            _weights.load_weights(base, os.fspath(weights), self.name)
        return base, None

    def _clone(self, input_shape, weights):
        """A copy of the model on a static `input_shape`, same weights."""
        # The model's own input name, so that a tap can name it.
        name = self.model.inputs[0]._keras_history.operation.name
        inputs = keras.Input(input_shape, name=name)
        base = keras.models.clone_model(self.model, input_tensors=inputs)
        base.set_weights(self.model.get_weights())
        return base


def _functional(model):
    """A plain functional model with one image input, or a clear error."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            "A backbone model must be a functional keras.Model. "
            f"Received: model={model!r}"
        )
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs or (
        not isinstance(model, keras.Sequential)
        and not hasattr(model, "operations")
    ):
        raise TypeError(
            "A backbone model must be a functional keras.Model (or a "
            "keras.Sequential with an Input): a subclassed model hides its "
            "layers, so no feature level can be tapped inside it. Build it "
            "functionally, or wrap it as one level: inputs = "
            "keras.Input(shape); keras.Model(inputs, net(inputs)). "
            f"Received: model={type(model).__name__} '{model.name}'"
        )
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ValueError(
            "A backbone model must take one image input (batch, H, W, C). "
            f"Received: inputs={[tuple(t.shape) for t in inputs]}"
        )
    if inputs[0].shape[-1] is None:
        raise ValueError(
            "A backbone model needs a known channel count. "
            f"Received: input shape={tuple(inputs[0].shape)}"
        )
    # A plain Functional (also for Sequential and functional subclasses):
    # same layers, so clone_model can rebuild it on another input.
    outputs = model.outputs
    outputs = outputs[0] if len(outputs) == 1 else outputs
    return keras.Model(inputs[0], outputs, name=model.name)
