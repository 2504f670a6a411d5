"""A backbone cut into stages: `BackboneSpec` builds, `BackboneStages` holds.

Each level `"P1"`..`"P5"` (level `Pn` has stride `2**n`) is tapped at the
last *clean cut* at its stride: the last layer whose output has that stride
and after which no layer reads a tensor from before it (so never inside a
residual block). `BackboneSpec.build` cuts the trunk at its taps into one
`keras.Model` per level; `BackboneStages.copy_stage` gives a branch its own
copy of a stage.
"""

import os

import keras

from mtlzoo.backbones import _weights
from mtlzoo.backbones.levels import level_taps
from mtlzoo.backbones.preprocess import PREPROCESSING_MODES
from mtlzoo.backbones.preprocess import Preprocess

LEVELS = ("P1", "P2", "P3", "P4", "P5")


class BackboneStages:
    """A backbone cut into one stage model per feature level.

    Attributes:
        preprocess: `keras.layers.Layer`. Maps raw images (0..255, 1 or C
            channels) to the input of the first stage.
        preprocessing: str. The resolved preprocessing mode.
        levels: tuple of str. The levels, shallow to deep.
        stages: dict. Level to `keras.Model`; the first stage maps the
            preprocessed image to the first level, each next stage maps the
            previous level's features to its own.
        channels: dict. Level to channel count.
        strides: dict. Level to stride (`2**n` for `Pn`).
        shapes: dict. Level to static `(H, W, C)` for the built input size.
        base: `keras.Model`. The uncut trunk, sharing its layers with
            `stages`; `base.save_weights(path)` writes a file that
            `build(..., weights=path)` loads.
    """

    def __init__(self, preprocess, preprocessing, stages, base):
        self.preprocess = preprocess
        self.preprocessing = preprocessing
        self.stages = stages
        self.base = base
        self.levels = tuple(stages)
        self.shapes = {
            level: tuple(int(d) for d in stage.output.shape[1:])
            for level, stage in stages.items()
        }
        self.channels = {lvl: shape[-1] for lvl, shape in self.shapes.items()}
        self.strides = {level: 2 ** int(level[1:]) for level in stages}

    def copy_stage(self, level, name):
        """Returns an independent copy of a stage with the same weights.

        Args:
            level: str. The level of the stage to copy.
            name: str. Name of the copied model.

        Returns:
            A `keras.Model` with its own variables, initialised from the
            stage's current values.
        """
        if level not in self.stages:
            raise ValueError(
                f"No stage at this level; available: {self.levels}. "
                f"Received: level={level!r}"
            )
        stage = self.stages[level]
        clone = keras.models.clone_model(stage)
        clone.set_weights(stage.get_weights())
        return keras.Model(clone.inputs[0], clone.outputs[0], name=name)


class BackboneSpec:
    """A registered backbone: how to build it and where its levels are.

    Made by `mtlzoo.backbones.register_backbone`, fetched by
    `mtlzoo.backbones.get(name)`.

    Args:
        name: str. Registry name.
        builder: callable. `builder(input_shape, weights)` returns the uncut
            trunk; `weights` is `None` or `"imagenet"`.
        taps: dict or `None`. Level to tap: a layer name (its output),
            `"name.input"` (the input of that layer) or `None` (the model
            output). `None` finds the taps from the feature strides of the
            built trunk (`mtlzoo.backbones.find_levels`).
        default_preprocessing: str. Mode used when `preprocessing=None`.
        min_input_size: int. Smallest allowed height and width.
        native: bool. `True` for CNNs that keep the input channel count and
            have no ImageNet weights (the small CNNs of mtlzoo).
        fallback_weights: tuple or `None`. `(file name, preprocessing)` of a
            shipped weights file used when the ImageNet download fails.
    """

    def __init__(
        self,
        name,
        builder,
        taps,
        default_preprocessing,
        min_input_size,
        native=False,
        fallback_weights=None,
    ):
        self.name = name
        self.builder = builder
        self.taps = None if taps is None else dict(taps)
        self._levels = None
        if taps is not None:
            self._levels = tuple(level for level in LEVELS if level in taps)
        self.default_preprocessing = default_preprocessing
        self.min_input_size = min_input_size
        self.native = native
        self.fallback_weights = fallback_weights

    def __repr__(self):
        return f"BackboneSpec(name={self.name!r}, levels={self.levels})"

    @property
    def levels(self):
        """The levels, shallow to deep. With automatic taps, those found
        on a trunk built at 128x128 (or a backbone model's own fixed size);
        `build` finds them again for its input size."""
        if self._levels is None:
            self._levels = self.build(self._probe_shape()).levels
        return self._levels

    def get_config(self):
        """What `MultiTaskModel.get_config()` stores: the registry name."""
        return self.name

    def build(self, input_shape, weights=None, preprocessing=None, name=None):
        """Builds the backbone and cuts it into stages.

        Args:
            input_shape: tuple. `(H, W, C)` of the raw images; `C` is 1 or 3
                for keras.applications backbones.
            weights: `None`, `"imagenet"` or a path to a `.h5` /
                `.weights.h5` file holding the uncut trunk's weights.
                Defaults to `None` (random initialisation).
            preprocessing: str or `None`. A mode of `Preprocess`; `None`
                means the backbone's default. Defaults to `None`.
            name: str or `None`. Prefix of the stage names
                (`f"{name}_{level}"`). Defaults to the backbone name.

        Returns:
            A `BackboneStages`.

        Example:

        >>> stages = get("tiny").build((32, 32, 1))
        >>> stages.shapes["P3"]
        (4, 4, 8)
        """
        input_shape = self._validate_input_shape(input_shape)
        if preprocessing is not None and preprocessing not in (
            PREPROCESSING_MODES
        ):
            raise ValueError(
                f"Unknown preprocessing for backbone '{self.name}'; expected "
                f"one of {PREPROCESSING_MODES} or None. "
                f"Received: preprocessing={preprocessing!r}"
            )
        name = self.name if name is None else name
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a string. Received: name={name!r}")
        trunk_shape = self._trunk_shape(input_shape)
        base, resolved = self._build_base(trunk_shape, weights)
        preprocessing = preprocessing or resolved or self.default_preprocessing
        preprocess = Preprocess(
            preprocessing,
            channels_out=self._channels_out(input_shape),
            name=f"{name}_preprocess",
        )
        stages = cut_stages(base, self._tap_tensors(base), name)
        return BackboneStages(preprocess, preprocessing, stages, base)

    # Hooks `ModelBackbone` overrides.
    def _tap_tensors(self, base):
        if self.taps is None:
            return level_taps(base, argument="taps")
        return {lvl: resolve_tap(base, self.taps[lvl]) for lvl in self.levels}

    def _probe_shape(self):
        size = max(128, self.min_input_size)
        return (size, size, 3)

    def _trunk_shape(self, input_shape):
        return input_shape if self.native else input_shape[:2] + (3,)

    def _channels_out(self, input_shape):
        return None if self.native else 3

    def _validate_input_shape(self, input_shape):
        ok = isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
        ok = ok and all(isinstance(d, int) and d > 0 for d in input_shape)
        if ok and not self.native:
            ok = input_shape[2] in (1, 3)
        if not ok:
            channels = "C > 0" if self.native else "C in (1, 3)"
            raise ValueError(
                f"Backbone '{self.name}' needs input_shape=(H, W, C) with "
                f"static ints and {channels}. "
                f"Received: input_shape={input_shape!r}"
            )
        if min(input_shape[:2]) < self.min_input_size:
            raise ValueError(
                f"Backbone '{self.name}' needs height and width >= "
                f"{self.min_input_size}. Received: input_shape={input_shape!r}"
            )
        return tuple(input_shape)

    def _build_base(self, input_shape, weights):
        """Returns the uncut trunk and the preprocessing its weights need."""
        if weights is None:
            return self.builder(input_shape, None), None
        if weights == "imagenet":
            return self._build_imagenet(input_shape, weights)
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                f"`weights` for backbone '{self.name}' must be None, "
                f"'imagenet' or a file path. Received: weights={weights!r}"
            )
        base = self.builder(input_shape, None)
        _weights.load_weights(base, os.fspath(weights), self.name)
        return base, None

    def _build_imagenet(self, input_shape, weights):
        if self.native:
            raise ValueError(
                f"Backbone '{self.name}' has no ImageNet weights; pass "
                "None or a weights file path. "
                f"Received: weights={weights!r}"
            )
        try:
            return self.builder(input_shape, "imagenet"), None
        except Exception as error:
            if not _weights.is_download_error(error):
                raise
            fallback = self.fallback_weights
            path = fallback and _weights.find_pretrained(fallback[0])
            if path is None:
                raise ValueError(
                    f"Could not download the ImageNet weights of backbone "
                    f"'{self.name}' ({error}). Pass a local weights file "
                    f"path instead. Received: weights={weights!r}"
                ) from error
        base = self.builder(input_shape, None)
        _weights.load_weights(base, path, self.name)
        return base, fallback[1]


def cut_stages(base, taps, name):
    """Cuts `base` at the tap tensors into one stage model per level.

    Args:
        base: `keras.Model`. The uncut trunk.
        taps: dict. Level -> tensor of `base`, shallow to deep, each a
            clean cut.
        name: str. Prefix of the stage names (`f"{name}_{level}"`).

    Returns:
        A dict level -> `keras.Model`; the first maps `base`'s input to the
        first level, each next one the previous level to its own.
    """
    stages = {}
    previous = base.inputs[0]
    for level, tap in taps.items():
        stage = keras.Model(previous, tap, name=f"{name}_{level}")
        # Keras names the input it creates for a cut after a tensor id;
        # name it after the stage (its clones then inherit the name).
        stage_input = stage.inputs[0]
        stage_input._keras_history.operation.name = f"{stage.name}_input"
        stage_input.name = f"{stage.name}_input"
        stages[level] = stage
        previous = tap
    return stages


def resolve_tap(model, tap):
    """The tensor of `model` a tap names.

    Args:
        model: `keras.Model`. The uncut trunk.
        tap: str or `None`. A layer name (its output), `"name.input"` (the
            input of that layer, where Keras leaves the tap itself
            unnamed) or `None` (the model output).
    """
    if tap is None:
        return model.outputs[0]
    if tap.endswith(".input"):
        return model.get_layer(tap[: -len(".input")]).input
    return model.get_layer(tap).output
