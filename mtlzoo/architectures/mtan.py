"""Multi-Task Attention Network: shared backbone, per-task soft masks."""

from keras import layers

from mtlzoo.architectures import _common
from mtlzoo.architectures._catalog import ARCHITECTURES

NAME = "mtan"
OPTIONS = ("levels",)


def _attention(task, level, shared, previous, channels):
    """Per-task mask over the shared features of one level."""
    prefix = f"{task}_{NAME}_{level}"
    x = shared
    if previous is not None:
        x = layers.Concatenate(name=f"{prefix}_concat")([shared, previous])
    x = layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}_conv_1")(x)
    x = layers.BatchNormalization(name=f"{prefix}_bn_1")(x)
    x = layers.ReLU(name=f"{prefix}_relu")(x)
    x = layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}_conv_2")(x)
    x = layers.BatchNormalization(name=f"{prefix}_bn_2")(x)
    mask = layers.Activation("sigmoid", name=f"{prefix}_mask")(x)
    return layers.Multiply(name=f"{prefix}_attended")([mask, shared])


@ARCHITECTURES.register("mtan")
def build(image, stages, tasks, input_shape, heads, **options):
    """Shared backbone with a soft attention module per task and level.

    At each level in `levels`, task `t` computes a mask
    `a = sigmoid(BN(conv1x1(relu(BN(conv1x1([u, p]))))))` with values in
    [0, 1] and the shape of the shared features `u` of that level
    (layer `f"{t}_mtan_{level}_mask"`), and keeps `a * u` as its features.
    `p` is the task's features from the previous attended level passed
    through a 3x3 convolution shared by all tasks (`f"mtan_{level}_down"`,
    conv + ReLU; the paper's shared block, without batch norm so that its
    statistics do not mix tasks) and max-pooled to this level's size; the
    first attended level uses `u` alone. Heads read the task's attended
    features (dense skips at levels without attention read the shared
    ones). The shared representation is the backbone output at every level
    the task modules or heads read.

    Args:
        levels: list of str. Levels with attention modules; must include
            the deepest level, which feeds the heads. Defaults to every
            level.

    Reference:
    - [Liu et al., 2019](https://arxiv.org/abs/1803.10704)
    """
    unknown = {k: v for k, v in options.items() if k not in OPTIONS}
    _common.check_unknown(NAME, unknown, OPTIONS)
    levels = options.get("levels")
    attended = _common.check_levels(NAME, "levels", levels, stages.levels)
    deepest = stages.levels[-1]
    if deepest not in attended:
        raise ValueError(
            f"Option `levels` of architecture '{NAME}' must include the "
            f"deepest level {deepest!r}, whose attended features feed the "
            f"heads. Received: levels={levels!r}"
        )
    trunk = _common.run_stages(image, stages.stages, stages.levels)
    shared = []
    features = {t.name: dict(trunk) for t in tasks}
    previous = {t.name: None for t in tasks}
    for i, level in enumerate(attended):
        u = trunk[level]
        _common.add_shared(shared, u)
        channels = stages.channels[level]
        down = None
        if i > 0:
            down = layers.Conv2D(
                channels,
                3,
                padding="same",
                activation="relu",
                name=f"{NAME}_{level}_down",
            )
        for task in tasks:
            p = previous[task.name]
            if p is not None:
                p = _common.resize_to(
                    down(p), u.shape[1:3], f"{task.name}_{NAME}_{level}_pool"
                )
            out = _attention(task.name, level, u, p, channels)
            previous[task.name] = out
            features[task.name][level] = out
    for task in tasks:
        if task.is_dense:
            for level in stages.levels:
                if level not in attended:
                    _common.add_shared(shared, trunk[level])
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, shared, []
