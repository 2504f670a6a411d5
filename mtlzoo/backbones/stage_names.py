"""The names of backbone stage models: one helper writes and reads them.

A backbone is cut into stage models, one per feature level (`"P1"` ..
`"P5"`, see `BackboneStages`). The shared trunk's stage at level `Pn` is
named `"<backbone>_Pn"`; a hard-sharing branch's own copy of that stage is
named after the tasks that own it, `"<task>_<task>_Pn"`. The architectures
that make stages (producers) and the zoo, which maps preset weights onto a
changed model by these names (consumer), both go through `stage_name` and
`parse_stage_name`: no other code builds or parses these names.

Imports nothing (the command line may import it without TensorFlow).
"""

STAGE_LEVELS = ("P1", "P2", "P3", "P4", "P5")


def stage_name(owner, level):
    """The name of the stage model of `owner` at `level`.

    Args:
        owner: str or sequence of str. The backbone name (the shared
            trunk), a task name, or the task names of a branch group
            (joined with `"_"` in their given order).
        level: str. A feature level, `"P1"` .. `"P5"`.

    Returns:
        str, e.g. `"tiny_P3"` or `"mask_ink_P4"`.

    Example:

    >>> stage_name(("mask", "ink"), "P4")
    'mask_ink_P4'
    """
    if not isinstance(owner, str):
        owner = "_".join(owner)
    if not owner or level not in STAGE_LEVELS:
        raise ValueError(
            f"A stage needs an owner name and a level in {STAGE_LEVELS}. "
            f"Received: owner={owner!r}, level={level!r}"
        )
    return f"{owner}_{level}"


def parse_stage_name(name):
    """`(owner, level)` of a stage name, or None for another layer name.

    Args:
        name: str. A layer name.

    Returns:
        A tuple `(owner, level)` (`owner` as written by `stage_name`: the
        backbone name or the joined task names), or None.

    Example:

    >>> parse_stage_name("mask_ink_P4")
    ('mask_ink', 'P4')
    >>> parse_stage_name("mask_head_conv") is None
    True
    """
    owner, sep, level = str(name).rpartition("_")
    if not sep or not owner or level not in STAGE_LEVELS:
        return None
    return owner, level
