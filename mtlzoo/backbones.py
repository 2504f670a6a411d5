"""Backbone registry, feature levels and stage splitting.

A backbone is registered under a short name (`list_backbones()`), built by
`get(name).build(input_shape)` and handed back cut into *stages*: one
`keras.Model` per feature level `"P1"`..`"P5"` (level `Pn` has stride
`2**n`), so that a multi-task architecture can share the trunk up to a level
and give each branch its own copy of the later stages (`copy_stage`).

Each level is tapped at the last *clean cut* at its stride: the last layer
whose output has that stride and after which no layer reads a tensor from
before it (so never inside a residual block). For the inverted-residual nets
this is mostly the expansion activation feeding the next strided depthwise
convolution (as in the segmentation literature), for ResNet and DenseNet the
block or transition output, for VGG the last convolution before each pool.
The taps are listed in `_APPLICATIONS` below and checked by the tests;
backbones whose first layer has stride 4 (ConvNeXt) have no `"P1"`.

Example:

>>> stages = get("tiny").build((32, 32, 1))
>>> x = stages.preprocess(np.zeros((2, 32, 32, 1)))
>>> for level in stages.levels:
...     x = stages.stages[level](x)
>>> x.shape
TensorShape([2, 1, 1, 16])
"""

import fnmatch
import os
import pathlib
import urllib.error
import warnings

import keras
from keras import layers
from keras import ops

LEVELS = ("P1", "P2", "P3", "P4", "P5")
PREPROCESSING_MODES = ("tf", "torch", "caffe", "unit", "none")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_PRETRAINED_DIRS = (
    pathlib.Path(__file__).resolve().parent / "pretrained",
    pathlib.Path(__file__).resolve().parent.parent / "pretrained",
)
_REGISTRY = {}


@keras.saving.register_keras_serializable(package="mtlzoo")
class Preprocess(keras.layers.Layer):
    """Maps raw images (pixel values 0..255) to what a backbone expects.

    Args:
        mode: str. One of `"tf"` (`x / 127.5 - 1`), `"torch"` (`x / 255`,
            then ImageNet mean/std), `"caffe"` (RGB to BGR, then subtract the
            ImageNet mean), `"unit"` (`x / 255`) or `"none"` (identity).
            With a channel count other than 3, `"torch"` and `"caffe"` use
            the mean of the three ImageNet constants. Defaults to `"none"`.
        channels_out: int or `None`. Number of output channels; 1-channel
            inputs are repeated to match. `None` keeps the input channels.
            Defaults to `None`.

    Example:

    >>> layer = Preprocess("tf", channels_out=3)
    >>> layer(np.full((1, 4, 4, 1), 255.0)).shape
    TensorShape([1, 4, 4, 3])
    """

    def __init__(self, mode="none", channels_out=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"Unknown preprocessing mode; expected one of "
                f"{PREPROCESSING_MODES}. Received: mode={mode!r}"
            )
        if channels_out is not None and (
            not isinstance(channels_out, int) or channels_out < 1
        ):
            raise ValueError(
                "`channels_out` must be a positive int or None. "
                f"Received: channels_out={channels_out!r}"
            )
        self.mode = mode
        self.channels_out = channels_out

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.channels_out not in (None, channels) and channels != 1:
            raise ValueError(
                f"Preprocess '{self.name}' can only repeat 1 channel to "
                f"{self.channels_out}. Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.channels_out is not None and x.shape[-1] != self.channels_out:
            x = ops.repeat(x, self.channels_out, axis=-1)
        channels = x.shape[-1]
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "torch":
            mean = self._constant(_IMAGENET_MEAN, channels)
            std = self._constant(_IMAGENET_STD, channels)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            if channels == 3:
                x = ops.flip(x, axis=-1)
            return x - self._constant(_CAFFE_MEAN_BGR, channels)
        return x

    def _constant(self, values, channels):
        if channels != 3:
            values = [sum(values) / 3.0] * channels
        return ops.convert_to_tensor(values, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        channels = self.channels_out or input_shape[-1]
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "channels_out": self.channels_out})
        return config


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

    Args:
        name: str. Registry name.
        builder: callable. `builder(input_shape, weights)` returns the uncut
            trunk; `weights` is `None` or `"imagenet"`.
        taps: dict. Level to tap: a layer name (its output), `"name.input"`
            (the input of that layer) or `None` (the model output).
        default_preprocessing: str. Mode used when `preprocessing=None`.
        min_input_size: int. Smallest allowed height and width.
        native: bool. `True` for the small CNNs defined here: they keep the
            input channel count and have no ImageNet weights.
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
        self.taps = dict(taps)
        self.levels = tuple(level for level in LEVELS if level in taps)
        self.default_preprocessing = default_preprocessing
        self.min_input_size = min_input_size
        self.native = native
        self.fallback_weights = fallback_weights

    def __repr__(self):
        return f"BackboneSpec(name={self.name!r}, levels={self.levels})"

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
        trunk_shape = input_shape if self.native else input_shape[:2] + (3,)
        base, resolved = self._build_base(trunk_shape, weights)
        preprocessing = preprocessing or resolved or self.default_preprocessing
        preprocess = Preprocess(
            preprocessing,
            channels_out=None if self.native else 3,
            name=f"{name}_preprocess",
        )
        stages = {}
        previous = base.inputs[0]
        for level in self.levels:
            tap = _resolve_tap(base, self.taps[level])
            stage = keras.Model(previous, tap, name=f"{name}_{level}")
            # Keras names the input it creates for a cut after a tensor id;
            # name it after the stage (its clones then inherit the name).
            stage_input = stage.inputs[0]
            stage_input._keras_history.operation.name = f"{stage.name}_input"
            stage_input.name = f"{stage.name}_input"
            stages[level] = stage
            previous = tap
        return BackboneStages(preprocess, preprocessing, stages, base)

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
            if self.native:
                raise ValueError(
                    f"Backbone '{self.name}' has no ImageNet weights; pass "
                    "None or a weights file path. "
                    f"Received: weights={weights!r}"
                )
            try:
                return self.builder(input_shape, "imagenet"), None
            except Exception as error:
                if not _is_download_error(error):
                    raise
                fallback = self.fallback_weights
                path = fallback and _find_pretrained(fallback[0])
                if path is None:
                    raise ValueError(
                        f"Could not download the ImageNet weights of backbone "
                        f"'{self.name}' ({error}). Pass a local weights file "
                        f"path instead. Received: weights={weights!r}"
                    ) from error
                base = self.builder(input_shape, None)
                _load_weights(base, path, self.name)
                return base, fallback[1]
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                f"`weights` for backbone '{self.name}' must be None, "
                f"'imagenet' or a file path. Received: weights={weights!r}"
            )
        base = self.builder(input_shape, None)
        _load_weights(base, os.fspath(weights), self.name)
        return base, None


def _resolve_tap(model, tap):
    if tap is None:
        return model.outputs[0]
    if tap.endswith(".input"):
        return model.get_layer(tap[: -len(".input")]).input
    return model.get_layer(tap).output


def _is_download_error(error):
    if isinstance(error, (OSError, urllib.error.URLError)):
        return True
    return "URL fetch failure" in str(error)


def _find_pretrained(filename):
    for directory in _PRETRAINED_DIRS:
        path = directory / filename
        if path.is_file():
            return str(path)
    return None


def _load_weights(model, path, backbone):
    if not os.path.isfile(path):
        raise ValueError(
            f"Weights file for backbone '{backbone}' not found: {path}. "
            f"Received: weights={path!r}"
        )
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            f"Weights file for backbone '{backbone}' must be a .h5 or "
            f".weights.h5 file. Received: weights={path!r}"
        )
    try:
        # Keras warns about every skipped group before raising on a file that
        # does not fit: keep those warnings only when the load succeeds.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
    except Exception as error:
        raise ValueError(
            f"Weights in {path} do not fit backbone '{backbone}' with input "
            f"shape {tuple(model.input.shape[1:])}: {error}. "
            f"Received: weights={path!r}"
        ) from error
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )


def list_backbones(pattern=None):
    """Lists registered backbone names.

    Args:
        pattern: str or `None`. An `fnmatch` pattern such as
            `"mobilenet*"`. Defaults to `None` (all names).

    Returns:
        A sorted list of names.

    Example:

    >>> list_backbones("resnet*")
    ['resnet50', 'resnet50_v2', 'resnet_small']
    """
    names = sorted(_REGISTRY)
    if pattern is None:
        return names
    return [name for name in names if fnmatch.fnmatch(name, pattern)]


def get(name):
    """Returns the `BackboneSpec` registered under `name`.

    Args:
        name: str. A name from `list_backbones()`.

    Returns:
        A `BackboneSpec`.
    """
    if not isinstance(name, str):
        raise TypeError(f"Backbone name must be a str. Received: name={name!r}")
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown backbone; valid names: {', '.join(list_backbones())}. "
            f"Received: name={name!r}"
        )
    return _REGISTRY[name]


def _register(spec):
    _REGISTRY[spec.name] = spec
    return spec


def _application(class_name):
    def builder(input_shape, weights):
        application = getattr(keras.applications, class_name)
        return application(
            include_top=False, weights=weights, input_shape=input_shape
        )

    return builder


# name: (keras.applications class, default preprocessing, taps P1..P5).
# A tap is a layer name (its output), "name.input" (the input of that layer,
# where Keras leaves the tap itself unnamed), None (the model output) or "-"
# (no such level).
_APPLICATIONS = {
    "mobilenet_v2": (
        "MobileNetV2",
        "tf",
        (
            "block_1_expand_relu",
            "block_3_expand_relu",
            "block_6_expand_relu",
            "block_13_expand_relu",
            "out_relu",
        ),
    ),
    "mobilenet_v3_small": (
        "MobileNetV3Small",
        "none",
        (
            "expanded_conv_depthwise_pad.input",
            "expanded_conv_1_depthwise_pad.input",
            "expanded_conv_3_depthwise_pad.input",
            "expanded_conv_8_depthwise_pad.input",
            None,
        ),
    ),
    "mobilenet_v3_large": (
        "MobileNetV3Large",
        "none",
        (
            "expanded_conv_1_depthwise_pad.input",
            "expanded_conv_3_depthwise_pad.input",
            "expanded_conv_6_depthwise_pad.input",
            "expanded_conv_12_depthwise_pad.input",
            None,
        ),
    ),
    "resnet50": (
        "ResNet50",
        "caffe",
        (
            "conv1_relu",
            "conv2_block3_out",
            "conv3_block4_out",
            "conv4_block6_out",
            "conv5_block3_out",
        ),
    ),
    "resnet50_v2": (
        "ResNet50V2",
        "tf",
        (
            "conv1_conv",
            "conv2_block2_out",
            "conv3_block3_out",
            "conv4_block5_out",
            "post_relu",
        ),
    ),
    "efficientnet_b0": (
        "EfficientNetB0",
        "none",
        (
            "block2a_expand_activation",
            "block3a_expand_activation",
            "block4a_expand_activation",
            "block6a_expand_activation",
            "top_activation",
        ),
    ),
    "efficientnet_v2_b0": (
        "EfficientNetV2B0",
        "none",
        (
            "block1a_project_activation",
            "block2b_add",
            "block4a_expand_activation",
            "block6a_expand_activation",
            "top_activation",
        ),
    ),
    "convnext_tiny": (
        "ConvNeXtTiny",
        "none",
        (
            "-",
            "convnext_tiny_downsampling_block_0.input",
            "convnext_tiny_downsampling_block_1.input",
            "convnext_tiny_downsampling_block_2.input",
            None,
        ),
    ),
    "vgg16": (
        "VGG16",
        "caffe",
        (
            "block2_conv2",
            "block3_conv3",
            "block4_conv3",
            "block5_conv3",
            "block5_pool",
        ),
    ),
    "densenet121": (
        "DenseNet121",
        "torch",
        ("conv1_relu", "pool2_conv", "pool3_conv", "pool4_conv", "relu"),
    ),
}

for _name, (_class, _mode, _taps) in _APPLICATIONS.items():
    _register(
        BackboneSpec(
            _name,
            _application(_class),
            {lvl: tap for lvl, tap in zip(LEVELS, _taps) if tap != "-"},
            default_preprocessing=_mode,
            min_input_size=32,
        )
    )
get("mobilenet_v2").fallback_weights = (
    "mobilenet_v2_imagenet_no_top.weights.h5",
    "torch",
)


# Keras' default 0.99 lets the moving statistics lag far behind the weights
# over the few hundred steps a small model trains here (train accuracy 0.86
# vs 0.21 in inference mode after 94 steps); 0.9 follows them.
BN_MOMENTUM = 0.9


def _conv_bn_relu(x, filters, kernel_size, strides, prefix):
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        name=f"{prefix}_conv",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def _tiny(input_shape, weights=None):
    """4-16 channels, one strided conv per level (~2.4k parameters)."""
    inputs = keras.Input(input_shape, name="tiny_input")
    x = inputs
    for level, filters in zip(LEVELS, (4, 4, 8, 8, 16)):
        x = _conv_bn_relu(x, filters, 3, 2, level.lower())
    return keras.Model(inputs, x, name="tiny")


def _lenet(input_shape, weights=None):
    """LeNet-style: a stem conv, then per level 2x2 max pool and a conv."""
    inputs = keras.Input(input_shape, name="lenet_input")
    x = _conv_bn_relu(inputs, 16, 5, 1, "stem")
    for level, filters in zip(LEVELS, (32, 64, 96, 128, 128)):
        prefix = level.lower()
        x = layers.MaxPooling2D(2, padding="same", name=f"{prefix}_pool")(x)
        x = _conv_bn_relu(x, filters, 5 if level < "P3" else 3, 1, prefix)
    return keras.Model(inputs, x, name="lenet")


def _residual_block(x, filters, strides, prefix):
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters,
            1,
            strides=strides,
            use_bias=False,
            name=f"{prefix}_shortcut_conv",
        )(x)
        shortcut = layers.BatchNormalization(
            momentum=BN_MOMENTUM, name=f"{prefix}_shortcut_bn"
        )(shortcut)
    x = _conv_bn_relu(x, filters, 3, strides, f"{prefix}_1")
    x = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, name=f"{prefix}_2_conv"
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_2_bn")(
        x
    )
    x = layers.Add(name=f"{prefix}_add")([shortcut, x])
    return layers.ReLU(name=f"{prefix}_out")(x)


def _resnet_small(input_shape, weights=None):
    """Stem, then two basic residual blocks per level, the first strided."""
    inputs = keras.Input(input_shape, name="resnet_small_input")
    x = _conv_bn_relu(inputs, 16, 3, 1, "stem")
    for level, filters in zip(LEVELS, (32, 48, 64, 96, 128)):
        x = _residual_block(x, filters, 2, f"{level.lower()}_block1")
        x = _residual_block(x, filters, 1, f"{level.lower()}_block2")
    return keras.Model(inputs, x, name="resnet_small")


for _name, _builder, _taps in (
    ("tiny", _tiny, [f"{lvl.lower()}_relu" for lvl in LEVELS]),
    ("lenet", _lenet, [f"{lvl.lower()}_relu" for lvl in LEVELS]),
    (
        "resnet_small",
        _resnet_small,
        [f"{x.lower()}_block2_out" for x in LEVELS],
    ),
):
    _register(
        BackboneSpec(
            _name,
            _builder,
            dict(zip(LEVELS, _taps)),
            default_preprocessing="unit",
            min_input_size=16,
            native=True,
        )
    )
