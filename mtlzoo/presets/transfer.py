"""Preset weights on a changed model: overrides and layer-by-layer transfer.

`apply_overrides` changes a preset's architecture (new tasks, heads,
branch points, input shape); `transfer_weights` then copies the preset's
weights into every layer whose weight shapes still match. Stage models are
matched by the names of `mtlzoo.backbones.stage_names`, the helper that
also makes them.
"""

import copy

import keras

from mtlzoo.backbones.stage_names import parse_stage_name
from mtlzoo.tasks import Task

OVERRIDABLE = (
    "tasks",
    "heads",
    "branch_points",
    "input_shape",
    "preprocessing",
    "name",
)


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
        stage = parse_stage_name(layer.name)
        if stage and stage[0] == getattr(source, "backbone", None):
            trunk[stage[1]] = layer
    skipped = []
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None:
            stage = parse_stage_name(layer.name)
            src = trunk.get(stage[1]) if stage else None
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
