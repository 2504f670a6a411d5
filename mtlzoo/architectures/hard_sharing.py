"""Hard parameter sharing as a branch tree over backbone stages."""

from mtlzoo.architectures._catalog import ARCHITECTURES
from mtlzoo.backbones.stage_names import stage_name
from mtlzoo.tasks import Task

ALL_LEVELS = ("P0", "P1", "P2", "P3", "P4", "P5")


def normalize_branch_points(branch_points, tasks, levels):
    """Turn a user spec into a sorted list of `(task names tuple, level)`.

    Accepts `None` (every task at the deepest level), a level string (every
    task on its own branch there), a dict `{task or tuple of tasks: level}`
    or the list form `[{"tasks": [...], "level": "P3"}, ...]` that
    `get_config()` returns. Groups must nest (a tree); a group must leave
    the trunk no deeper than any subgroup inside it. `"P0"` branches before
    the first stage (nothing shared but the input).
    """
    names = [t.name if isinstance(t, Task) else t for t in tasks]
    allowed = ("P0",) + tuple(levels)
    if branch_points is None:
        return []
    if isinstance(branch_points, str):
        branch_points = {name: branch_points for name in names}
    if isinstance(branch_points, (list, tuple)):
        items = []
        for entry in branch_points:
            if not isinstance(entry, dict) or set(entry) != {"tasks", "level"}:
                raise ValueError(
                    "Each entry of a branch_points list must be a dict with "
                    f"keys 'tasks' and 'level'. Received: entry={entry!r}"
                )
            items.append((entry["tasks"], entry["level"]))
    elif isinstance(branch_points, dict):
        items = list(branch_points.items())
    else:
        raise TypeError(
            "`branch_points` must be None, a level name, a dict "
            "{task or tuple of tasks: level} or a list of "
            f"{{'tasks', 'level'}} dicts. Received: "
            f"branch_points={branch_points!r}"
        )
    out = {}
    for key, level in items:
        group = (key,) if isinstance(key, str) else tuple(key)
        if not group:
            raise ValueError(
                f"A branch group must name at least one task. "
                f"Received: branch_points key={key!r}"
            )
        unknown = [g for g in group if g not in names]
        if unknown:
            raise ValueError(
                f"branch_points names unknown task(s) {unknown}; the tasks "
                f"are {names}. Received: branch_points key={key!r}"
            )
        if len(set(group)) != len(group):
            raise ValueError(
                f"A branch group repeats a task. Received: group={group!r}"
            )
        if level not in allowed:
            if level in ALL_LEVELS:
                raise ValueError(
                    f"Branch point {level!r} of {list(group)} is a level "
                    f"this backbone does not have; it has {list(allowed)}. "
                    f"Received: level={level!r}"
                )
            raise ValueError(
                f"Unknown branch level for {list(group)}; expected one of "
                f"{list(allowed)}. Received: level={level!r}"
            )
        group = tuple(sorted(group))
        if group in out:
            raise ValueError(
                f"Group {list(group)} is given twice in branch_points. "
                f"Received: branch_points={branch_points!r}"
            )
        out[group] = level
    groups = list(out)
    for a in groups:
        for b in groups:
            sa, sb = set(a), set(b)
            if a == b or not (sa & sb):
                continue
            if not (sa < sb or sb < sa):
                raise ValueError(
                    f"Branch groups {list(a)} and {list(b)} overlap without "
                    "one containing the other; a branch tree needs nested "
                    f"groups. Received: branch_points={branch_points!r}"
                )
            outer, inner = (a, b) if sb < sa else (b, a)
            if allowed.index(out[outer]) > allowed.index(out[inner]):
                raise ValueError(
                    f"Group {list(outer)} branches at {out[outer]}, deeper "
                    f"than its subgroup {list(inner)} at {out[inner]}; a "
                    "subgroup can only split off later. "
                    f"Received: branch_points={branch_points!r}"
                )
    return sorted(
        ((g, lv) for g, lv in out.items()),
        key=lambda item: (allowed.index(item[1]), item[0]),
    )


def to_config(branch_points):
    """List form of a normalised tree, for JSON configs."""
    return [{"tasks": list(g), "level": lv} for g, lv in branch_points]


def owner(members, level, tree, levels):
    """Which branch computes `level` for `members` (a task name or tuple).

    The smallest group containing all members that left the trunk before
    `level`; `()` is the shared trunk.
    """
    members = {members} if isinstance(members, str) else set(members)
    allowed = ("P0",) + tuple(levels)
    best = ()
    for group, at in tree:
        if members <= set(group) and allowed.index(at) < allowed.index(level):
            if not best or len(group) < len(best):
                best = group
    return best


@ARCHITECTURES.register("hard_sharing")
def build(
    image, stages, tasks, input_shape, heads, branch_points=None, **unknown
):
    """Build the branch tree on the preprocessed `image`.

    Returns:
        (outputs dict task -> tensor, list of shared trunk tensors that
        task-specific layers consume, normalised branch points).
    """
    from mtlzoo.heads import build_head

    if unknown:
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)} for architecture "
            "'hard_sharing'; it takes `branch_points`. "
            f"Received: options={unknown!r}"
        )
    levels = stages.levels
    tree = normalize_branch_points(branch_points, tasks, levels)
    cache = {((), "P0"): image}
    stage_models = {}
    shared = []

    def feature(branch, level):
        key = (branch, level)
        if key in cache:
            return cache[key]
        i = levels.index(level)
        prev = "P0" if i == 0 else levels[i - 1]
        # The previous level belongs to this branch or to an ancestor.
        prev_owner = owner(branch, prev, tree, levels) if branch else ()
        x = feature(prev_owner, prev)
        if branch and not prev_owner:
            _mark_shared(x)
        if not branch:
            model = stages.stages[level]
        else:
            name = stage_name(branch, level)
            if name in stage_models:
                raise ValueError(f"Branch stage name clash: {name}")
            model = stages.copy_stage(level, name)
            stage_models[name] = model
        out = model(x)
        if isinstance(out, (list, tuple)):
            (out,) = out
        cache[key] = out
        return out

    def _mark_shared(tensor):
        if not any(tensor is s for s in shared):
            shared.append(tensor)

    outputs = {}
    for task in tasks:
        feats = {}
        for level in levels:
            branch = owner(task.name, level, tree, levels)
            feats[level] = feature(branch, level)
            if not branch and level == levels[-1]:
                _mark_shared(feats[level])
        opts = (heads or {}).get(task.name)
        head = build_head(task, opts)
        if task.is_dense:
            for level, branch in (
                (lv, owner(task.name, lv, tree, levels)) for lv in levels
            ):
                if not branch:
                    _mark_shared(feats[level])
        outputs[task.name] = head(feats, input_shape)
    return outputs, shared, tree
