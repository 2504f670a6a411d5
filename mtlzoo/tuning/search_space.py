"""The search space's names, defaults and argument checks.

Which head hyperparameters a task gets is its kind's choice
(`Task.head_search_space`): `"mlp"` (hidden units and layers of a vector
head) or `"dense"` (decoder width and convolutions); `HEAD_SEARCH_SPACES`
maps each family to the function that draws it.
"""

import math

from mtlzoo.tasks import get_kind
from mtlzoo.tasks import list_kinds

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


def check_list(name, values, kind, minimum=None, positive=False):
    """`values` as a list, checked: non-empty, distinct, all of `kind`.

    Args:
        name: str. The argument's name, for the error.
        values: a list (a single value is wrapped).
        kind: `int`, `float` or `str`. Floats must also be finite.
        minimum: number. Smallest allowed value. Defaults to None.
        positive: bool. Values must be > 0. Defaults to False.

    Returns:
        list.
    """
    if isinstance(values, (str, int, float)):
        values = [values]
    try:
        values = list(values)
    except TypeError:
        values = None
    ok = bool(values)
    if ok and kind is float:
        ok = all(
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
            for v in values
        )
        values = [float(v) for v in values] if ok else values
    elif ok:
        ok = all(
            isinstance(v, kind) and not isinstance(v, bool) for v in values
        )
    if ok and minimum is not None:
        ok = all(v >= minimum for v in values)
    if ok and positive:
        ok = all(v > 0 for v in values)
    if not ok or len(set(values)) != len(values):
        rule = "positive " if positive else ""
        rule += "finite " if kind is float else ""
        raise ValueError(
            f"`{name}` must be a non-empty list of distinct {rule}"
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


def _mlp_options(hp, name, fixed, choices):
    if "units" in fixed:
        return {}
    units = choice(
        hp,
        hp_name("head_units", name),
        choices["head_units"],
        PREFERRED["head_units"],
    )
    depth = choice(
        hp,
        hp_name("head_layers", name),
        choices["head_layers"],
        PREFERRED["head_layers"],
    )
    return {"units": [units] * depth}


def _dense_options(hp, name, fixed, choices):
    opts = {}
    if "width" not in fixed:
        opts["width"] = choice(
            hp,
            hp_name("dense_width", name),
            choices["dense_width"],
            PREFERRED["dense_width"],
        )
    if "convs" not in fixed:
        opts["convs"] = choice(
            hp,
            hp_name("dense_convs", name),
            choices["dense_convs"],
            PREFERRED["dense_convs"],
        )
    return opts


# head hyperparameter family -> fn(hp, task name, fixed options, choices).
HEAD_SEARCH_SPACES = {"mlp": _mlp_options, "dense": _dense_options}


def head_options(hp, task, fixed=None, choices=None):
    """Head options of `task` drawn from `hp`, fixed options kept.

    Args:
        hp: `keras_tuner.HyperParameters`.
        task: `mtlzoo.Task`. Its `head_search_space` names the family.
        fixed: dict. Head options not searched. Defaults to {}.
        choices: dict with the candidate lists `"head_units"`,
            `"head_layers"`, `"dense_width"` and `"dense_convs"`. Defaults
            to the `DEFAULT_*` values.

    Returns:
        dict of head options.
    """
    fixed = dict(fixed or {})
    values = {
        "head_units": DEFAULT_HEAD_UNITS,
        "head_layers": DEFAULT_HEAD_LAYERS,
        "dense_width": DEFAULT_DENSE_WIDTHS,
        "dense_convs": DEFAULT_DENSE_CONVS,
    }
    values.update(choices or {})
    family = task.head_search_space
    opts = {}
    if family is not None:
        if family not in HEAD_SEARCH_SPACES:
            raise ValueError(
                f"Task '{task.name}' names an unknown head search space; "
                f"expected one of {sorted(HEAD_SEARCH_SPACES)}. "
                f"Received: head_search_space={family!r}"
            )
        opts = HEAD_SEARCH_SPACES[family](hp, task.name, fixed, values)
    opts.update(fixed)
    return opts


# Kinds whose heads take MLP options (computed at import; prefer
# `head_options`, which also covers kinds registered later).
MLP_KINDS = tuple(
    k for k in list_kinds() if get_kind(k).head_search_space == "mlp"
)
