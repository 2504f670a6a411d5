"""Hard sharing with task-specific normalisation layers."""

import keras
from keras import layers

from mtlzoo.architectures import _common
from mtlzoo.architectures._catalog import ARCHITECTURES

NAME = "task_specific_norm"
OPTIONS = ("levels",)
NORMALIZATION_LAYERS = (
    layers.BatchNormalization,
    layers.LayerNormalization,
    layers.GroupNormalization,
)


def task_conditioned_stage(stage, task, name):
    """A stage that shares `stage`'s layers except its normalisation.

    Every normalisation layer (batch, layer or group norm) is replaced by a
    fresh one with the same config, named `f"{task}_{layer.name}"` and
    starting from the same weights (scale, offset and, for batch norm, the
    moving statistics); every other layer is the same object, so the task
    runs the stage with the shared kernels.

    Args:
        stage: `keras.Model`. A backbone stage.
        task: str. Task name (prefix of the new layers).
        name: str. Name of the returned model.

    Returns:
        A `keras.Model` with the stage's input and output shapes.
    """
    pairs = []

    def clone(layer):
        if isinstance(layer, NORMALIZATION_LAYERS):
            config = dict(layer.get_config(), name=f"{task}_{layer.name}")
            new = layer.__class__.from_config(config)
            pairs.append((layer, new))
            return new
        return layer

    cloned = keras.models.clone_model(stage, clone_function=clone)
    for old, new in pairs:
        new.set_weights(old.get_weights())
    return keras.Model(cloned.inputs[0], cloned.outputs[0], name=name)


@ARCHITECTURES.register("task_specific_norm")
def build(image, stages, tasks, input_shape, heads, **options):
    """One trunk of shared kernels, run per task with its own norm layers.

    Levels before the first entry of `levels` form a plain shared trunk,
    computed once. From there every task runs its own forward pass through
    the remaining stages (models `f"{task}_{level}"`): at levels in
    `levels` the stage's normalisation layers are the task's own (batch
    norm statistics, scales and offsets, `f"{task}_{layer}"`), and every
    other layer, in particular every convolution kernel, is the shared
    layer itself. Heads read the task's features. The shared
    representation is the output of the plain trunk (the preprocessed image
    when every level is task-normalised) and the dense skips taken from it.

    Args:
        levels: list of str. Levels whose normalisation layers are
            task-specific. Defaults to every level.

    Reference:
    - [Bilen & Vedaldi, 2017](https://arxiv.org/abs/1701.07275)
    - [Rebuffi et al., 2017](https://arxiv.org/abs/1705.08045)
    """
    unknown = {k: v for k, v in options.items() if k not in OPTIONS}
    _common.check_unknown(NAME, unknown, OPTIONS)
    own = _common.check_levels(
        NAME, "levels", options.get("levels"), stages.levels
    )
    first = stages.levels.index(own[0])
    prefix = stages.levels[:first]
    trunk = _common.run_stages(image, stages.stages, prefix)
    start = trunk[prefix[-1]] if prefix else image
    shared = [start]
    features = {}
    for task in tasks:
        n = task.name
        x = start
        feats = dict(trunk)
        for level in stages.levels[first:]:
            if level in own:
                model = task_conditioned_stage(
                    stages.stages[level], n, f"{n}_{level}"
                )
            else:
                model = stages.stages[level]
            x = model(x)
            feats[level] = x
        features[n] = feats
        if task.is_dense:
            for level in prefix[:-1]:
                _common.add_shared(shared, trunk[level])
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, shared, []
