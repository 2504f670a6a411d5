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


def apply_overrides(arch, overrides, explain=False):
    """The architecture config with `overrides` applied.

    A task of the `tasks` override with the name and kind of a preset task
    is a kept task: unless it brings its own `head` options, it gets the
    preset task's, and it keeps the preset's `heads` entry (a `heads`
    override is merged over it), so its head is built as the preset's and
    loads its weights (a changed `num_classes` or `units` then starts only
    the output layer fresh). A task with a new name or another kind starts
    fresh, and the preset's `heads` entry of that name is dropped.

    Args:
        arch: dict. A `MultiTaskModel.get_config()`.
        overrides: dict. Entries of `OVERRIDABLE`.
        explain: bool. Also return why heads start fresh. Defaults to
            False.

    Returns:
        A new config dict (the input is not changed); with `explain`,
        `(config, reasons)` where `reasons` maps a task name to why its
        head does not load the preset's weights (whole or in part).
    """
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(
            f"Unknown override(s) {unknown}; a preset accepts "
            f"{list(OVERRIDABLE)}. Received: overrides={sorted(overrides)}"
        )
    out = copy.deepcopy(arch)
    reasons = {}
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
        tasks = copy.deepcopy(tasks)
        names = {t["name"] for t in tasks if isinstance(t, dict)}
        kept = _keep_heads(arch, tasks, reasons)
        out["tasks"] = tasks
        out["heads"] = {k: v for k, v in out["heads"].items() if k in kept}
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
    kept = {t["name"] for t in out["tasks"] if isinstance(t, dict)}
    _explain_kept(arch, out, kept - set(reasons), reasons)
    return (out, reasons) if explain else out


def _keep_heads(arch, tasks, reasons):
    """Give kept tasks without head options the preset's (in place).

    Returns the names of the kept tasks (same name and kind as a preset
    task); fills `reasons` for the new ones.
    """
    preset = {t["name"]: t for t in arch.get("tasks", [])}
    kept = set()
    for task in tasks:
        if not isinstance(task, dict):
            continue
        name = task["name"]
        old = preset.get(name)
        if old is None:
            reasons[name] = f"task '{name}' is new"
        elif task.get("kind") != old.get("kind"):
            reasons[name] = (
                f"task '{name}': kind '{task.get('kind')}' != preset's "
                f"'{old.get('kind')}'"
            )
        else:
            kept.add(name)
            if not task.get("head"):
                task["head"] = copy.deepcopy(old.get("head") or {})
    return kept


def _explain_kept(arch, out, kept, reasons):
    """Why a kept task's head does not load whole: its effective head
    options or output size differ from the preset's."""
    before = {t["name"]: t for t in arch.get("tasks", [])}
    after = {t["name"]: t for t in out["tasks"] if isinstance(t, dict)}
    for name in sorted(kept):
        old, new = before[name], after[name]
        old_opts = {**(old.get("head") or {}), **arch["heads"].get(name, {})}
        new_opts = {**(new.get("head") or {}), **out["heads"].get(name, {})}
        why = [
            f"{key} {new_opts.get(key, 'default')!r} != preset's "
            f"{old_opts.get(key, 'default')!r}"
            for key in sorted(set(old_opts) | set(new_opts))
            if old_opts.get(key) != new_opts.get(key)
        ]
        why += [
            f"{key} {new.get(key)!r} != preset's {old.get(key)!r}"
            for key in ("num_classes", "units")
            if new.get(key) != old.get(key)
        ]
        if why:
            reasons[name] = f"head '{name}': " + ", ".join(why)


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


def transfer_weights(source, target, reasons=None):
    """Copy weights from `source` to `target` layer by layer, by name.

    A layer whose weight shapes all match is copied whole; a sub-model
    whose shapes differ is matched layer by layer inside. A branch stage
    `"<group>_Pn"` missing in `source` is initialised from `source`'s
    trunk stage at `Pn`.

    Args:
        source: `keras.Model`. Holds the weights.
        target: `keras.Model`. Receives them.
        reasons: dict or None. If given, filled with layer path -> why it
            was not loaded. Defaults to None.

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
        _copy_layer(src, layer, layer.name, skipped, reasons)
    return skipped


def _shapes(layer):
    return [tuple(w.shape) for w in layer.weights]


def _copy_layer(src, dst, path, skipped, reasons=None):
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
                inner.get(layer.name),
                layer,
                f"{path}/{layer.name}",
                skipped,
                reasons,
            )
        return
    skipped.append(path)
    if reasons is not None:
        if src is None:
            reasons[path] = "not in the preset"
        else:
            reasons[path] = (
                f"weight shapes {_shapes(dst)} != preset's {_shapes(src)}"
            )


def fresh_layers_message(layers, reasons, task_reasons):
    """One line per reason: the layers that start fresh and why.

    Args:
        layers: list of str. Layer paths not loaded (`transfer_weights`).
        reasons: dict. Layer path -> why (`transfer_weights`).
        task_reasons: dict. Task name -> why its head changed
            (`apply_overrides(..., explain=True)`).

    Returns:
        str, e.g. `"digit_head_dense_1, digit (task 'digit' is new); ..."`.
    """
    groups = {}
    for path in layers:
        top = path.split("/")[0]
        why = None
        for task, text in task_reasons.items():
            if top == task or top.startswith(f"{task}_head_"):
                why = text
        if why is None:
            why = reasons.get(path, "changed")
        groups.setdefault(why, []).append(path)
    return "; ".join(
        f"{', '.join(paths)} ({why})" for why, paths in groups.items()
    )
