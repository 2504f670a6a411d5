"""`build()`: the short way to make a `MultiTaskModel`."""

from mtlzoo.model.multi_task_model import MultiTaskModel


def build(
    backbone,
    tasks,
    input_shape,
    weights=None,
    branch_points=None,
    heads=None,
    architecture="hard_sharing",
    preprocessing=None,
    name="multi_task_model",
    **options,
):
    """Build a multi-task model: a backbone, a sharing scheme, one head each.

    Args:
        backbone: str. A name from `mtlzoo.backbones.list_backbones()`.
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`; images are raw
            pixel values 0..255.
        weights: None, `"imagenet"` or a path to backbone weights.
        branch_points: dict. Task or tuple of tasks -> level `"P0"`..`"P5"`
            where it leaves the shared trunk (hard sharing).
        heads: dict. Task name -> head options.
        architecture: str. Sharing scheme. Defaults to `"hard_sharing"`.
        preprocessing: str. Overrides the backbone's input preprocessing.
        name: str. Model name.
        **options: options of the architecture.

    Returns:
        A `MultiTaskModel` whose outputs are a dict keyed by task name.

    Example:

    >>> tasks = [mtlzoo.Task("digit", "classification", num_classes=10),
    ...          mtlzoo.Task("mask", "segmentation", num_classes=2)]
    >>> model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1),
    ...                      branch_points={"mask": "P3"})
    """
    return MultiTaskModel(
        backbone,
        tasks,
        input_shape,
        weights=weights,
        architecture=architecture,
        branch_points=branch_points,
        heads=heads,
        preprocessing=preprocessing,
        architecture_options=options or None,
        name=name,
    )
