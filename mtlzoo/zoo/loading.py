"""`load`: a preset's config plus hash-checked weights, ready to fine-tune."""

import copy
import os
import re
import warnings

import keras

from mtlzoo import weighting as weighting_lib
from mtlzoo.model import MultiTaskModel
from mtlzoo.tasks import Task
from mtlzoo.zoo import registry
from mtlzoo.zoo import weights as weights_lib

OVERRIDABLE = (
    "tasks",
    "heads",
    "branch_points",
    "input_shape",
    "preprocessing",
    "name",
)
_STAGE = re.compile(r"^(.+)_(P[1-5])$")


def load(name, weights=True, compile=True, **overrides):
    """Build a pretrained multi-task preset in one call.

    The model is built from the config's `architecture` block
    (`MultiTaskModel.get_config()`), its weights are located (installed
    package, repository checkout, Keras cache / download), checked against
    the config's sha256 and loaded, and it is compiled with the preset's
    training weighting and optimizer, so `model.fit` fine-tunes it.

    Overrides change the architecture before building, e.g. new heads or
    tasks for fine-tuning. The preset weights are then loaded layer by
    layer, by layer name, into every layer whose weight shapes match; the
    others keep their fresh initialisation and are named in a warning (and
    in `model.preset_not_loaded`). A new branch stage (`"<tasks>_P4"`) with
    no stored counterpart starts from the preset's trunk stage at that
    level.

    Args:
        name: str. A preset name from `mtlzoo.zoo.list_models()`.
        weights: bool or str. True loads the preset's weights, False keeps
            the random initialisation, a path loads that copy of the
            preset's weight file (hash-checked too). Defaults to True.
        compile: bool. Compile with the preset's weighting and optimizer.
            Defaults to True.
        **overrides: architecture entries to replace: `tasks` (list of
            `mtlzoo.Task` or task configs; branch points and head options
            of removed tasks are dropped), `heads` (dict task -> head
            options, merged over the preset's), `branch_points`,
            `input_shape`, `preprocessing`, `name`.

    Returns:
        A `mtlzoo.MultiTaskModel`.

    Example:

    >>> model = mtlzoo.zoo.load("fashion_tiny_test")
    >>> out = model.predict(images)  # dict: task name -> array
    >>> # a new 5-class head on the pretrained trunk:
    >>> model = mtlzoo.zoo.load(
    ...     "fashion_tiny_test",
    ...     tasks=[mtlzoo.Task("style", "classification", num_classes=5)])
    """
    config = registry.get_config(name)
    arch = config["architecture"]
    new_arch = apply_overrides(arch, overrides)
    model = MultiTaskModel.from_config(copy.deepcopy(new_arch))
    not_loaded = []
    if weights is not False and weights is not None:
        path = _weights_path(config, weights)
        if _without_name(new_arch) == _without_name(arch):
            model.load_weights(path)
        else:
            reference = MultiTaskModel.from_config(copy.deepcopy(arch))
            reference.load_weights(path)
            not_loaded = transfer_weights(reference, model)
            if not_loaded:
                warnings.warn(
                    f"Preset '{name}': {len(not_loaded)} layer(s) changed by "
                    f"the overrides keep their fresh initialisation: "
                    f"{', '.join(not_loaded)}",
                    stacklevel=2,
                )
    object.__setattr__(model, "preset_name", name)
    object.__setattr__(model, "preset_not_loaded", not_loaded)
    if compile:
        model.compile(**compile_arguments(config))
    return model


def _without_name(arch):
    return {k: v for k, v in arch.items() if k != "name"}


def _weights_path(config, weights):
    if weights is True:
        return weights_lib.locate(config)
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No such weights file. Received: weights={path!r}"
            )
        return weights_lib.check_sha256(
            path, config["weights"]["sha256"], config["name"]
        )
    raise TypeError(
        "`weights` must be True, False or a path to the preset's weights "
        f"file. Received: weights={weights!r}"
    )


def compile_arguments(config):
    """Keyword arguments of `model.compile` from a config's training block.

    Args:
        config: dict. A zoo config.

    Returns:
        dict with a fresh `optimizer` and `weighting` object.
    """
    training = config["training"]
    optimizer = keras.optimizers.deserialize(
        copy.deepcopy(training["optimizer"])
    )
    method = weighting_lib.get(
        training["weighting"], **training.get("weighting_options", {})
    )
    return {"optimizer": optimizer, "weighting": method}


def apply_overrides(arch, overrides):
    """The architecture config with `overrides` applied.

    Args:
        arch: dict. A `MultiTaskModel.get_config()`.
        overrides: dict. Entries of `OVERRIDABLE`.

    Returns:
        A new config dict (the input is not changed).
    """
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(
            f"Unknown override(s) {unknown}; a preset accepts "
            f"{list(OVERRIDABLE)}. Received: overrides={sorted(overrides)}"
        )
    out = copy.deepcopy(arch)
    if "tasks" in overrides:
        tasks = overrides["tasks"]
        if isinstance(tasks, (Task, dict)):
            tasks = [tasks]
        if not isinstance(tasks, (list, tuple)) or not tasks:
            raise ValueError(
                "The `tasks` override must be a non-empty list of "
                f"mtlzoo.Task. Received: tasks={tasks!r}"
            )
        tasks = [t.get_config() if isinstance(t, Task) else t for t in tasks]
        names = {t["name"] for t in tasks if isinstance(t, dict)}
        out["tasks"] = copy.deepcopy(tasks)
        out["heads"] = {k: v for k, v in out["heads"].items() if k in names}
        if "branch_points" not in overrides:
            out["branch_points"] = _restrict_tree(out["branch_points"], names)
    if "heads" in overrides:
        heads = overrides["heads"]
        if not isinstance(heads, dict):
            raise TypeError(
                "The `heads` override must be a dict task name -> head "
                f"options. Received: heads={heads!r}"
            )
        merged = dict(out["heads"])
        for task, options in heads.items():
            merged[task] = copy.deepcopy(options)
        out["heads"] = merged
    for key in ("branch_points", "input_shape", "preprocessing", "name"):
        if key in overrides:
            value = overrides[key]
            if key == "input_shape" and value is not None:
                value = [int(d) for d in value]
            out[key] = value
    return out


def _restrict_tree(tree, names):
    """Branch groups restricted to `names`, empty or repeated ones dropped."""
    out, seen = [], set()
    for entry in tree or []:
        group = sorted(t for t in entry["tasks"] if t in names)
        key = tuple(group)
        if group and key not in seen:
            seen.add(key)
            out.append({"tasks": group, "level": entry["level"]})
    return out


def transfer_weights(source, target):
    """Copy weights from `source` to `target` layer by layer, by name.

    A layer whose weight shapes all match is copied whole; a sub-model
    whose shapes differ is matched layer by layer inside. A branch stage
    `"<group>_Pn"` missing in `source` is initialised from `source`'s
    trunk stage at `Pn`.

    Args:
        source: `keras.Model`. Holds the weights.
        target: `keras.Model`. Receives them.

    Returns:
        list of str. Names of `target` layers with weights that were not
        loaded (nested ones as `"outer/inner"`).
    """
    by_name = {layer.name: layer for layer in source.layers}
    trunk = {}
    for layer in source.layers:
        match = _STAGE.match(layer.name)
        if match and match.group(1) == getattr(source, "backbone", None):
            trunk[match.group(2)] = layer
    skipped = []
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None:
            match = _STAGE.match(layer.name)
            src = trunk.get(match.group(2)) if match else None
        _copy_layer(src, layer, layer.name, skipped)
    return skipped


def _shapes(layer):
    return [tuple(w.shape) for w in layer.weights]


def _copy_layer(src, dst, path, skipped):
    if not dst.weights:
        return
    if src is not None and _shapes(src) == _shapes(dst):
        dst.set_weights(src.get_weights())
        return
    if (
        src is not None
        and isinstance(src, keras.Model)
        and isinstance(dst, keras.Model)
    ):
        inner = {layer.name: layer for layer in src.layers}
        for layer in dst.layers:
            _copy_layer(
                inner.get(layer.name), layer, f"{path}/{layer.name}", skipped
            )
        return
    skipped.append(path)
