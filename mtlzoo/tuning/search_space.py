"""The search space's names, defaults and argument checks."""

MLP_KINDS = ("classification", "multilabel", "regression", "box")
DEFAULT_HEAD_UNITS = (32, 64, 128, 256)
DEFAULT_HEAD_LAYERS = (1, 2)
DEFAULT_DENSE_WIDTHS = (16, 32, 64)
DEFAULT_DENSE_CONVS = (1, 2)
# Defaults of `build(kt.HyperParameters())`: the library's own defaults.
PREFERRED = {
    "head_units": 128,
    "head_layers": 1,
    "dense_width": 64,
    "dense_convs": 1,
    "weighting": "equal",
    "learning_rate": 1e-3,
    "batch_size": 32,
}


def hp_name(kind, members):
    """Name of a hyperparameter of this search space.

    Args:
        kind: str. `"branch"`, `"head_units"`, `"head_layers"`,
            `"dense_width"` or `"dense_convs"`.
        members: str or tuple of str. The task (or the task group, for
            `"branch"`).

    Returns:
        str, e.g. `"branch/garment"`, `"branch/garment+group"`,
        `"head_units/garment"`.
    """
    if isinstance(members, str):
        members = (members,)
    return f"{kind}/{'+'.join(members)}"


def choice(hp, name, values, preferred=None):
    values = list(values)
    if len(values) == 1:
        return hp.Fixed(name, values[0])
    default = preferred if preferred in values else values[0]
    if isinstance(values[0], str):
        return hp.Choice(name, values, ordered=False, default=default)
    return hp.Choice(name, values, default=default)


def check_list(name, values, kind, minimum=None):
    if isinstance(values, (str, int, float)):
        values = [values]
    try:
        values = list(values)
    except TypeError:
        values = None
    ok = bool(values)
    if ok and kind is float:
        ok = all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for v in values
        )
        values = [float(v) for v in values] if ok else values
    elif ok:
        ok = all(
            isinstance(v, kind) and not isinstance(v, bool) for v in values
        )
    if ok and minimum is not None:
        ok = all(v >= minimum for v in values)
    if not ok or len(set(values)) != len(values):
        raise ValueError(
            f"`{name}` must be a non-empty list of distinct "
            f"{kind.__name__} values"
            + (f" >= {minimum}" if minimum is not None else "")
            + f". Received: {name}={values!r}"
        )
    return values


def branch_groups(groups, names):
    """Tuples of task names that branch together; every task in one."""
    if groups is None:
        return [(n,) for n in names]
    if isinstance(groups, dict):
        groups = list(groups)
    if not isinstance(groups, (list, tuple)):
        raise ValueError(
            "`groups` must be a list of task-name lists or a dict keyed by "
            f"groups. Received: groups={groups!r}"
        )
    units, seen = [], set()
    for group in groups:
        group = (group,) if isinstance(group, str) else tuple(group)
        unknown = [g for g in group if g not in names]
        twice = [g for g in group if g in seen]
        if not group or unknown or twice or len(set(group)) != len(group):
            raise ValueError(
                f"Groups must be disjoint, non-empty lists of the tasks "
                f"{names}. Received: groups={groups!r}"
            )
        seen.update(group)
        units.append(tuple(sorted(group)))
    units += [(n,) for n in names if n not in seen]
    return units


def check_heads(heads, names):
    heads = dict(heads or {})
    unknown = sorted(set(heads) - set(names))
    if unknown or not all(isinstance(v, dict) for v in heads.values()):
        raise ValueError(
            f"`heads` must map task names {names} to option dicts. "
            f"Received: heads={heads!r}"
        )
    return heads
