"""`build()`: the short way to make a `MultiTaskModel`."""

from mtlzoo.model.multi_task_model import MultiTaskModel


def build(
    backbone,
    tasks,
    input_shape=None,
    backbone_weights=None,
    branch_points=None,
    heads=None,
    architecture="hard_sharing",
    preprocessing=None,
    name="multi_task_model",
    batch_norm="train",
    freeze_until=None,
    weights=None,
    **options,
):
    """Build a multi-task model: a backbone, a sharing scheme, one head each.

    The backbone is a registered name or your own functional `keras.Model`
    (a `keras.applications` model with `include_top=False`, or your CNN).
    A model is cut at its feature levels `"P1"`..`"P5"` (stride `2**n`),
    found from its strides, or at the layers of
    `mtlzoo.backbones.ModelBackbone(model, levels={"P3": "name", ...})`;
    branch points, dense heads, every architecture and weighting then work
    as with a registered backbone. The multi-task model starts from the
    model's current weights, trains its own copy, and stores the model's
    Keras config in `get_config()` (see `ModelBackbone` for what a custom
    layer needs to serialise). A model gets raw 0..255 pixels unless you
    pass `preprocessing`.

    Args:
        backbone: str, `keras.Model` or `mtlzoo.backbones.ModelBackbone`.
            A name from `mtlzoo.backbones.list_backbones()`, or your model.
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`; images are raw
            pixel values 0..255. Defaults to the input shape of a backbone
            model built for a fixed size; required otherwise.
        backbone_weights: None, `"imagenet"` or a path to backbone
            weights. For a backbone model, None uses its current weights.
            (`weights=` is its deprecated old name.)
        branch_points: dict. Task or tuple of tasks -> level `"P0"`..`"P5"`
            where it leaves the shared trunk (hard sharing).
        heads: dict. Task name -> head options.
        architecture: str. Sharing scheme. Defaults to `"hard_sharing"`.
        preprocessing: str. Overrides the backbone's input preprocessing
            (`"none"` for a backbone model).
        name: str. Model name.
        **options: options of the architecture.

    Returns:
        A `MultiTaskModel` whose outputs are a dict keyed by task name.

    Example:

    >>> tasks = [mtlzoo.Task("digit", "classification", num_classes=10),
    ...          mtlzoo.Task("mask", "segmentation", num_classes=2)]
    >>> model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1),
    ...                      branch_points={"mask": "P3"})

    Your own backbone, here MobileNetV3Small with its levels found from
    its strides (it rescales its input itself):

    >>> net = keras.applications.MobileNetV3Small(
    ...     include_top=False, weights=None, input_shape=(64, 64, 3))
    >>> model = mtlzoo.build(net, tasks, branch_points={"mask": "P3"})
    """
    return MultiTaskModel(
        backbone,
        tasks,
        input_shape,
        backbone_weights=backbone_weights,
        weights=weights,
        architecture=architecture,
        branch_points=branch_points,
        heads=heads,
        preprocessing=preprocessing,
        architecture_options=options or None,
        name=name,
        batch_norm=batch_norm,
        freeze_until=freeze_until,
    )
