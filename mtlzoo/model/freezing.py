"""Freezing by level, the trainable flags, and the tree of a model.

The backbone of a `MultiTaskModel` is cut into stage models, one per
level; hard sharing gives a branch its own copies of the later stages
(`mtlzoo.backbones.stage_names`). `model.freeze(until="P3")` freezes
every stage at levels up to P3, in the trunk and in every branch; the
heads and the later stages train. Frozen layers (BatchNormalization
included) run in inference mode, as `layer.trainable = False` does in
Keras 3.
"""

import keras

from mtlzoo.backbones.stage_names import parse_stage_name
from mtlzoo.model.batch_norm import apply_batch_norm
from mtlzoo.model.batch_norm import batch_norm_layers

#: `freeze(until=BACKBONE)` freezes every stage (only heads and
#: architecture modules train).
BACKBONE = "backbone"


def check_freeze_until(until, levels):
    """The normalised `freeze_until`: None, a level of `levels`, or
    `"backbone"`."""
    if until is None:
        return None
    if until == BACKBONE or until in tuple(levels):
        return until
    raise ValueError(
        f"`until` must be a level of the backbone {list(levels)} or "
        f"'{BACKBONE}' (every stage). Received: until={until!r}"
    )


def stage_models(model):
    """`{level: [stage models]}` of the trunk and branch stages."""
    out = {}
    for layer in model.layers:
        stage = parse_stage_name(layer.name)
        if stage and isinstance(layer, keras.Model):
            out.setdefault(stage[1], []).append(layer)
    return out


def frozen_levels(until, levels):
    """The levels `freeze_until=until` freezes."""
    if until is None:
        return ()
    if until == BACKBONE:
        return tuple(levels)
    levels = tuple(levels)
    return levels[: levels.index(until) + 1]


def apply_trainable(model):
    """Set the trainable flags of `model`'s stages and BatchNormalization
    layers from `model.freeze_until` and `model.batch_norm`.

    Stages at frozen levels get `trainable=False` (recursively), the
    other stages `trainable=True`; then the BatchNormalization policy is
    applied to every BatchNormalization layer outside frozen stages.
    Other layers are left as they are.
    """
    frozen = set(frozen_levels(model.freeze_until, model.levels))
    paths = []
    for level, stages in stage_models(model).items():
        for stage in stages:
            stage.trainable = level not in frozen
            if level in frozen:
                paths.append(stage.name)
    apply_batch_norm(
        model,
        model.batch_norm_policy,
        model.batch_norm_train_layers,
        frozen_paths=paths,
    )


def trainable_ids(model):
    """ids of the variables a train step of `model` would update now."""
    ids = {id(v) for v in model.trainable_variables}
    weighting = getattr(model, "weighting", None)
    if weighting is not None:
        ids |= {id(v) for v in weighting.trainable_variables}
    return ids


def check_compiled_trainables(model):
    """Raise when trainable flags changed since `compile()`.

    The variable partition and the optimizers are made by `compile()`
    from the trainable variables of that moment; as in Keras, changing
    `trainable` (`freeze`, `unfreeze`, `set_batch_norm`, a layer's flag)
    needs `compile()` again.
    """
    partition = getattr(model, "variable_partition", None)
    if partition is None or not model.compiled:
        return
    before = {id(v) for v in partition.variables}
    now = trainable_ids(model)
    if before != now:
        raise ValueError(
            "The trainable variables changed since `compile()` (by "
            "`freeze`, `unfreeze`, `set_batch_norm` or a layer's "
            "`trainable`); call `model.compile(...)` again before training. "
            f"Received: {len(now)} trainable variables now, {len(before)} "
            "at compile time"
        )


def _count(weights):
    return int(sum(int(w.numpy().size) for w in weights))


def _status(layer):
    trainable = _count(layer.trainable_weights)
    total = _count(layer.weights)
    if not total:
        return None
    if trainable == 0:
        state = "frozen"
    elif isinstance(layer, keras.Model) and any(
        not bn.trainable for _, bn in batch_norm_layers(layer)
    ):
        state = "trains, BatchNorm frozen"
    else:
        state = "trains"
    return f"{total:,} params, {trainable:,} trainable, {state}"


def tree_lines(model):
    """The text of the model tree: trunk stages, branch stages by group,
    heads, other layers; with parameter counts and what is frozen."""
    trunk, branches, heads, other = [], {}, {}, []
    for layer in model.layers:
        if not layer.weights or layer.name == "image":
            continue
        stage = parse_stage_name(layer.name)
        if stage and isinstance(layer, keras.Model):
            owner = stage[0]
            group = _branch_group(model, owner)
            if group is None:
                trunk.append(layer)
            else:
                branches.setdefault(group, []).append(layer)
            continue
        task = _head_task(model, layer.name)
        if task is None:
            other.append(layer)
        else:
            heads.setdefault(task, []).append(layer)
    lines = [
        f'Tree of "{model.name}" (batch_norm={model.batch_norm_policy!r}, '
        f"freeze_until={model.freeze_until!r})"
    ]
    lines.append(" trunk:")
    for layer in trunk:
        lines.append(f"   {layer.name}: {_status(layer)}")
    for group, stages in branches.items():
        lines.append(f" branch {list(group)}:")
        for layer in stages:
            lines.append(f"   {layer.name}: {_status(layer)}")
    lines.append(" heads:")
    for task in model.task_names:
        layers = heads.get(task, [])
        total = _count([w for layer in layers for w in layer.weights])
        trainable = _count(
            [w for layer in layers for w in layer.trainable_weights]
        )
        names = ", ".join(layer.name for layer in layers)
        lines.append(
            f"   {task}: {total:,} params, {trainable:,} trainable ({names})"
        )
    if other:
        lines.append(" other layers:")
        for layer in other:
            lines.append(f"   {layer.name}: {_status(layer)}")
    return lines


def _branch_group(model, owner):
    """The branch group (tuple of task names) owning stages named
    `owner`, or None for the trunk."""
    for entry in model.branch_points or []:
        group = entry[0] if isinstance(entry, (list, tuple)) else ()
        if isinstance(group, (list, tuple)) and "_".join(group) == owner:
            return tuple(group)
    if owner in model.task_names:
        return (owner,)
    return None


def _head_task(model, name):
    for task in model.task_names:
        if name == task or name.startswith(f"{task}_head_"):
            return task
    return None
