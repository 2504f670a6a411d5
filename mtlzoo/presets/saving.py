"""`from_preset` and `save_to_preset`, in the keras-hub manner.

A preset is a folder holding a `config.json` (the zoo config: at least
`architecture`, equal to `MultiTaskModel.get_config()`, and `weights` with
the weights `file` and its `sha256`) and the weights file. Shipped presets
are named (`mtlzoo.zoo.list_models()`): their folder is
`zoo_configs/<name>/` and their weights sit in `pretrained/<name>/` (see
`mtlzoo.presets.registry`). `MultiTaskModel.from_preset`,
`model.save_to_preset`, `mtlzoo.load` and `mtlzoo.zoo.load` call the
functions here.

"Weights" here always means the preset's trained weights (keras-hub's
`load_weights=`); the backbone's initialisation is `backbone_weights=` of
`mtlzoo.build`.
"""

import copy
import json
import os
import pathlib
import warnings

import keras

from mtlzoo import weighting as weighting_lib
from mtlzoo.presets import first_use
from mtlzoo.presets import registry
from mtlzoo.presets import weights as weights_lib
from mtlzoo.presets.transfer import apply_overrides
from mtlzoo.presets.transfer import fresh_layers_message
from mtlzoo.presets.transfer import transfer_weights

WEIGHTS_FILE = "model.weights.h5"


#: Keys of `MultiTaskModel.get_config()` that say how a model fine-tunes,
#: not what it is: a preset's architecture block leaves them out.
FINE_TUNING_KEYS = ("batch_norm", "freeze_until")


def from_preset(
    preset,
    load_weights=True,
    compile=True,
    model_class=None,
    batch_norm="recalibrate",
    source=None,
    **overrides,
):
    """Build a multi-task model from a preset, with its trained weights.

    The model is built from the config's `architecture` block, its weights
    are located (the preset folder, `pretrained/<name>/` of the installed
    package or the checkout, the Keras cache / download), checked against
    the config's sha256 and loaded, and it is compiled with the preset's
    weighting and optimizer, so `model.fit` fine-tunes it.

    Overrides change the architecture before building, e.g. new heads or
    tasks for fine-tuning. The preset weights are then loaded layer by
    layer, by layer name, into every layer whose weight shapes match; the
    others keep their fresh initialisation and are named in a warning (and
    in `model.preset_not_loaded`). A new branch stage (`"<tasks>_P4"`) with
    no stored counterpart starts from the preset's trunk stage at that
    level.

    Args:
        preset: str or path. A name from `mtlzoo.zoo.list_models()`, or a
            preset folder (as `save_to_preset` writes) or its
            `config.json`.
        load_weights: bool or str. True loads the preset's weights, False
            keeps the random initialisation, a path loads that copy of the
            preset's weights file (hash-checked too). Defaults to True.
        compile: bool. Compile with the preset's weighting and optimizer
            (`config["training"]`; Keras defaults where it has none).
            Defaults to True.
        model_class: the class to build, a `MultiTaskModel` subclass.
            Defaults to `MultiTaskModel`.
        batch_norm: str. The BatchNormalization policy for fine-tuning
            (see `MultiTaskModel`). `"recalibrate"`: BatchNormalization
            trains with batch statistics, and `fit` re-estimates the
            moving statistics on training batches before each validation
            and at its end, so `evaluate` agrees with `fit` on data from
            another domain. `"frozen"`: the pretrained BatchNormalization
            layers run in inference mode in `fit` too (the Keras
            transfer-learning guide; needs a low learning rate, about
            1e-4, for deep backbones); layers initialised fresh (named in
            the warning) keep training. `"train"`: plain Keras (then call
            `mtlzoo.recalibrate_batch_norm` after `fit`). Defaults to
            `"recalibrate"`.
        source: str or path. For a preset converted on first use (its
            weights are not shipped; see `mtlzoo.presets.first_use`): the
            source file to convert, or the folder holding it. Defaults to
            None (`$MTLZOO_SOURCES`, then the installed package; the
            converted weights are cached in `$KERAS_HOME/mtlzoo/<name>/`).
        **overrides: architecture entries to replace: `tasks` (list of
            `mtlzoo.Task` or task configs; branch points and head options
            of removed tasks are dropped), `heads` (dict task -> head
            options, merged over the preset's), `branch_points`,
            `input_shape`, `preprocessing`, `name`.

    Returns:
        A `MultiTaskModel` with `preset_name` (the preset's name) and
        `preset_not_loaded` (layers left at their initialisation).

    Example:

    >>> model = mtlzoo.MultiTaskModel.from_preset("fashion_tiny_test")
    >>> out = model.predict(images)  # dict: task name -> array
    >>> # a new 5-class head on the pretrained trunk:
    >>> model = mtlzoo.MultiTaskModel.from_preset(
    ...     "fashion_tiny_test",
    ...     tasks=[mtlzoo.Task("style", "classification", num_classes=5)])
    """
    if model_class is None:
        raise TypeError(
            "from_preset needs the model class to build (use "
            "`mtlzoo.MultiTaskModel.from_preset` or `mtlzoo.zoo.from_preset`)."
            f" Received: model_class={model_class!r}"
        )
    folder = registry.find_preset(preset)
    config = registry.read_config(folder / registry.CONFIG_FILE)
    config.setdefault("name", folder.name)
    name = config["name"]
    if source is not None and first_use.conversion_spec(config) is None:
        raise ValueError(
            f"Preset '{name}' ships its weights; `source` is only for "
            "presets converted on first use. "
            f"Received: source={source!r}"
        )
    arch = config.get("architecture")
    if not isinstance(arch, dict):
        raise ValueError(
            f"Preset '{name}' has no `architecture` block in its config "
            f"({folder / registry.CONFIG_FILE}). Received: preset={preset!r}"
        )
    arch = {k: v for k, v in arch.items() if k not in FINE_TUNING_KEYS}
    new_arch, task_reasons = apply_overrides(arch, overrides, explain=True)
    model = model_class.from_config(copy.deepcopy(new_arch))
    not_loaded = []
    if load_weights is not False and load_weights is not None:
        path = _weights_path(config, load_weights, folder, model_class, source)
        if _without_name(new_arch) == _without_name(arch):
            model.load_weights(path)
        else:
            reference = model_class.from_config(copy.deepcopy(arch))
            reference.load_weights(path)
            reasons = {}
            not_loaded = transfer_weights(reference, model, reasons=reasons)
            if not_loaded:
                warnings.warn(
                    f"Preset '{name}': {len(not_loaded)} layer(s) start "
                    "from a fresh initialisation: "
                    + fresh_layers_message(not_loaded, reasons, task_reasons),
                    stacklevel=3,
                )
    model.set_batch_norm(batch_norm, train_layers=not_loaded)
    # Plain attributes, hidden from Keras' tracking of layers and variables.
    object.__setattr__(model, "preset_name", name)
    object.__setattr__(model, "preset_not_loaded", not_loaded)
    if compile:
        model.compile(**compile_arguments(config))
    return model


def _without_name(arch):
    return {k: v for k, v in arch.items() if k != "name"}


def _weights_path(config, load_weights, folder, model_class=None, source=None):
    if load_weights is True and first_use.conversion_spec(config):
        return first_use.weights_path(config, model_class, folder, source)
    if load_weights is True:
        return weights_lib.locate(config, folder)
    if isinstance(load_weights, (str, os.PathLike)):
        _, expected, _ = weights_lib.weights_spec(config)
        path = os.fspath(load_weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No such weights file. Received: load_weights={path!r}"
            )
        return weights_lib.check_sha256(path, expected, config["name"])
    raise TypeError(
        "`load_weights` must be True, False or a path to the preset's "
        f"weights file. Received: load_weights={load_weights!r}"
    )


def compile_arguments(config):
    """Keyword arguments of `model.compile` from a config's training block.

    Args:
        config: dict. A zoo config.

    Returns:
        dict with a fresh `optimizer` and `weighting` object (each only
        when the config's `training` block names one).
    """
    training = config.get("training") or {}
    out = {}
    if training.get("optimizer") is not None:
        out["optimizer"] = keras.optimizers.deserialize(
            copy.deepcopy(training["optimizer"])
        )
    if training.get("weighting") is not None:
        out["weighting"] = weighting_lib.get(
            copy.deepcopy(training["weighting"]),
            **training.get("weighting_options", {}),
        )
    return out


def save_to_preset(model, preset_dir, description=None, overwrite=False):
    """Write a model as a preset folder that `from_preset` loads.

    Writes `config.json` (`name`, `description`, `architecture` =
    `model.get_config()` without `batch_norm` and `freeze_until`, which
    `from_preset` chooses when loading, `training` with the optimizer and
    weighting when the model is compiled, `weights` with `file`,
    `sha256`, `size_bytes` and `params`; `license` and `source_preset`
    when the model came from a preset) and the weights file
    `model.weights.h5`. The weights are written through a fresh model of
    the same architecture, so the file holds the model's layers only (no
    optimizer or weighting state), as the shipped presets do.

    Args:
        model: a `MultiTaskModel`.
        preset_dir: str or path. The folder (created if needed).
        description: str. One paragraph for the config. Defaults to a line
            naming the source preset, if any.
        overwrite: bool. Replace a preset already in the folder. Defaults
            to False.

    Returns:
        `pathlib.Path` of the folder.

    Example:

    >>> model.save_to_preset("my_preset")
    >>> again = mtlzoo.MultiTaskModel.from_preset("my_preset")
    """
    if not (hasattr(model, "tasks") and hasattr(model, "get_config")):
        raise TypeError(
            "save_to_preset takes a mtlzoo.MultiTaskModel. "
            f"Received: model={type(model).__name__}"
        )
    folder = pathlib.Path(preset_dir)
    config_path = folder / registry.CONFIG_FILE
    if config_path.exists() and not overwrite:
        raise ValueError(
            f"{config_path} exists; pass overwrite=True to replace it. "
            f"Received: preset_dir={os.fspath(preset_dir)!r}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    arch = json.loads(json.dumps(model.get_config()))
    arch = {k: v for k, v in arch.items() if k not in FINE_TUNING_KEYS}
    fresh = type(model).from_config(copy.deepcopy(arch))
    missing = transfer_weights(model, fresh)
    if missing:
        raise ValueError(
            f"Layers {missing} of the model could not be written. "
            f"Received: model={model.name!r}"
        )
    weights_path = folder / WEIGHTS_FILE
    fresh.save_weights(str(weights_path))
    source = getattr(model, "preset_name", None)
    config = {
        "name": arch["name"],
        "description": description
        or (f"Fine-tuned from preset '{source}'." if source else ""),
        "architecture": arch,
        "training": _training_block(model),
        "weights": weights_lib.weights_block(
            weights_path, fresh.count_params()
        ),
    }
    if source:
        config["source_preset"] = source
        license_ = _source_license(source)
        if license_:
            config["license"] = license_
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return folder


def _training_block(model):
    if not model.compiled:
        return {}
    block = {"optimizer": keras.optimizers.serialize(model.optimizer)}
    if model.weighting is not None:
        block["weighting"] = keras.saving.serialize_keras_object(
            model.weighting
        )
    return json.loads(json.dumps(block))


def _source_license(name):
    try:
        return registry.get_config(name).get("license")
    except (ValueError, TypeError, OSError):
        return None  # a preset loaded by path, or gone
