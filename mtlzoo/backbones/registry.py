"""The backbone catalog: `register_backbone`, `get`, `list_backbones`."""

import keras

from mtlzoo._registry import Registry
from mtlzoo.backbones.model_backbone import ModelBackbone
from mtlzoo.backbones.preprocess import PREPROCESSING_MODES
from mtlzoo.backbones.stages import LEVELS
from mtlzoo.backbones.stages import BackboneSpec

BACKBONES = Registry("backbone", "backbone")


def register_backbone(
    name,
    builder=None,
    *,
    taps=None,
    default_preprocessing="unit",
    min_input_size=32,
    native=False,
    fallback_weights=None,
    aliases=(),
    replace=False,
):
    """Registers a backbone builder and the layers its levels are tapped at.

    Once registered, the name works everywhere a backbone name does:
    `mtlzoo.build(name, ...)`, `MultiTaskModel(name, ...)`, the tuner, and
    the registry-wide tests.

    Args:
        name: str. Registry name (lower case, `_` between words).
        builder: callable. `builder(input_shape, weights)` returns the uncut
            trunk, a functional `keras.Model` with every layer named;
            `weights` is `None` or `"imagenet"` (weight files are loaded by
            mtlzoo). Omit it to use `register_backbone` as a decorator.
        taps: dict, sequence or `None`. Level (`"P1"`..`"P5"`, stride
            `2**n`) to tap, or a sequence of five taps for P1..P5. A tap is
            a layer name (its output), `"name.input"` (that layer's input)
            or `None` (the model output); `"-"` in a sequence (or a level
            left out of a dict) means the backbone has no such level. Tap
            the last *clean cut* at each stride: no later layer reads a
            tensor from before it. `None` finds exactly those from the
            feature strides of each built trunk (`find_levels`). Defaults
            to `None`.
        default_preprocessing: str. A mode of `Preprocess` used when the
            user passes none. Defaults to `"unit"`.
        min_input_size: int. Smallest height and width. Defaults to 32.
        native: bool. The builder keeps the input channel count (1-channel
            images are not repeated to RGB) and has no ImageNet weights.
            Defaults to False.
        fallback_weights: tuple or `None`. `(file name in pretrained/,
            preprocessing)` loaded when the ImageNet download fails.
            Defaults to None.
        aliases: tuple of str. Other names `get` accepts. Defaults to ().
        replace: bool. Replace an entry of the same name instead of
            raising. Defaults to False.

    Returns:
        The `BackboneSpec`; as a decorator, the builder unchanged.

    Example:

    >>> def my_net(input_shape, weights=None):
    ...     inputs = keras.Input(input_shape)
    ...     x = inputs
    ...     for level in LEVELS:
    ...         x = keras.layers.Conv2D(
    ...             8, 3, strides=2, padding="same", activation="relu",
    ...             name=f"my_{level.lower()}")(x)
    ...     return keras.Model(inputs, x, name="my_net")
    >>> spec = register_backbone(
    ...     "my_net", my_net,
    ...     taps={lvl: f"my_{lvl.lower()}" for lvl in LEVELS},
    ...     native=True)
    >>> model = mtlzoo.build("my_net", tasks, input_shape=(32, 32, 1))

    An existing model maker, levels found from its strides:

    >>> register_backbone(
    ...     "my_cnn", lambda input_shape, weights: make_cnn(input_shape),
    ...     native=True, default_preprocessing="none")
    """
    if builder is None:

        def decorator(builder):
            register_backbone(
                name,
                builder,
                taps=taps,
                default_preprocessing=default_preprocessing,
                min_input_size=min_input_size,
                native=native,
                fallback_weights=fallback_weights,
                aliases=aliases,
                replace=replace,
            )
            return builder

        return decorator
    if not callable(builder):
        raise TypeError(
            "`builder` must be a callable `builder(input_shape, weights)`. "
            f"Received: builder={builder!r}"
        )
    if default_preprocessing not in PREPROCESSING_MODES:
        raise ValueError(
            f"`default_preprocessing` must be one of {PREPROCESSING_MODES}. "
            f"Received: default_preprocessing={default_preprocessing!r}"
        )
    spec = BackboneSpec(
        name,
        builder,
        _level_taps(taps),
        default_preprocessing=default_preprocessing,
        min_input_size=min_input_size,
        native=native,
        fallback_weights=fallback_weights,
    )
    if replace:
        BACKBONES.unregister(name)
    return BACKBONES.register(name, spec, aliases=aliases)


def _level_taps(taps):
    if taps is None:
        return None
    if isinstance(taps, dict):
        levels = dict(taps)
    elif isinstance(taps, (list, tuple)) and len(taps) == len(LEVELS):
        levels = {lvl: tap for lvl, tap in zip(LEVELS, taps) if tap != "-"}
    else:
        levels = None
    if not levels or not set(levels) <= set(LEVELS):
        raise ValueError(
            f"`taps` must map some of the levels {LEVELS} to layer names, "
            "list five taps (P1..P5, '-' for a missing level) or be None "
            "(found from the feature strides). "
            f"Received: taps={taps!r}"
        )
    return levels


def get(name):
    """Returns the `BackboneSpec` registered under `name`.

    Args:
        name: str. A name from `list_backbones()`.

    Returns:
        A `BackboneSpec`.

    Example:

    >>> get("tiny").levels
    ('P1', 'P2', 'P3', 'P4', 'P5')
    """
    return BACKBONES.get(name)


def resolve(backbone):
    """The `BackboneSpec` for a `backbone` argument of `mtlzoo.build`.

    Args:
        backbone: str, `keras.Model`, `BackboneSpec` or dict. A name from
            `list_backbones()`; your functional `keras.Model` (wrapped in
            a `ModelBackbone`, levels found from its strides); a spec such
            as `ModelBackbone(model, levels={...})`; or the dict
            `ModelBackbone.get_config()` returns (from a saved config).

    Returns:
        A `BackboneSpec`; `spec.get_config()` is what a model config
        stores for it (the name, or the model's Keras config).

    Example:

    >>> resolve("tiny").levels
    ('P1', 'P2', 'P3', 'P4', 'P5')
    """
    if isinstance(backbone, BackboneSpec):
        return backbone
    if isinstance(backbone, keras.Model):
        return ModelBackbone(backbone)
    if isinstance(backbone, dict):
        return ModelBackbone.from_config(backbone)
    if not isinstance(backbone, str):
        raise TypeError(
            "`backbone` must be a name from list_backbones(), a functional "
            "keras.Model or a BackboneSpec (e.g. ModelBackbone(model, "
            f"levels=...)). Received: backbone={backbone!r}"
        )
    return get(backbone)


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
    return BACKBONES.names(pattern)
