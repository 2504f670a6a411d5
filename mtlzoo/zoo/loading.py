"""`load`: the short alias of `MultiTaskModel.from_preset`."""

from mtlzoo.model import MultiTaskModel
from mtlzoo.presets.saving import compile_arguments  # noqa: F401
from mtlzoo.presets.transfer import OVERRIDABLE  # noqa: F401
from mtlzoo.presets.transfer import apply_overrides  # noqa: F401
from mtlzoo.presets.transfer import transfer_weights  # noqa: F401


def load(
    name,
    load_weights=True,
    compile=True,
    weights=None,
    source=None,
    **overrides,
):
    """Build a pretrained multi-task preset in one call.

    The same as `MultiTaskModel.from_preset(name, ...)`: config plus
    hash-checked weights, compiled with the preset's weighting and
    optimizer, ready to predict or fine-tune.

    Args:
        name: str or path. A preset name from `mtlzoo.zoo.list_models()`,
            or a preset folder written by `model.save_to_preset`.
        load_weights: bool or str. True loads the preset's weights, False
            keeps the random initialisation, a path loads that copy of the
            preset's weights file (hash-checked too). Defaults to True.
        compile: bool. Compile with the preset's weighting and optimizer.
            Defaults to True.
        weights: the former name of `load_weights` (the preset's weights,
            not the backbone's), still accepted. Defaults to None.
        source: str or path. For a preset converted on first use (its
            card says so, e.g. `pose_mediapipe_full`): the source file or
            the folder holding it. Defaults to None (`$MTLZOO_SOURCES`,
            then the installed package); see `mtlzoo.presets.first_use`.
        **overrides: architecture entries to replace (`tasks`, `heads`,
            `branch_points`, `input_shape`, `preprocessing`, `name`); see
            `MultiTaskModel.from_preset`.

    Returns:
        A `mtlzoo.MultiTaskModel`.

    Example:

    >>> model = mtlzoo.load("fashion_tiny_test")
    >>> out = model.predict(images)  # dict: task name -> array
    """
    if weights is not None:
        if load_weights is not True:
            raise ValueError(
                "Pass the preset weights as `load_weights` or `weights`, not "
                f"both. Received: load_weights={load_weights!r}, "
                f"weights={weights!r}"
            )
        load_weights = weights
    return MultiTaskModel.from_preset(
        name,
        load_weights=load_weights,
        compile=compile,
        source=source,
        **overrides,
    )


def from_preset(
    preset, load_weights=True, compile=True, source=None, **overrides
):
    """`MultiTaskModel.from_preset`: a preset name or folder -> model."""
    return MultiTaskModel.from_preset(
        preset,
        load_weights=load_weights,
        compile=compile,
        source=source,
        **overrides,
    )
