"""Cross-stitch networks: per-task columns mixed by learned units."""

import keras
import numpy as np
from keras import ops

from mtlzoo.architectures import _common
from mtlzoo.architectures._catalog import ARCHITECTURES

NAME = "cross_stitch"
OPTIONS = ("levels", "self_weight", "per_channel")


@keras.saving.register_keras_serializable(package="mtlzoo")
class CrossStitchUnit(keras.layers.Layer):
    """Mixes the feature maps of T task columns with a learned T x T matrix.

    Takes a list of T tensors of one shape and returns T tensors,
    `out_i = sum_j alpha[i, j] * x_j`, with one matrix for all channels or,
    with `per_channel=True`, one per channel (`alpha[c, i, j]`). The matrix
    starts at `self_weight` on the diagonal and `(1 - self_weight) / (T - 1)`
    off it, so each column starts mostly as itself (with a single column,
    the identity).

    Args:
        self_weight: float. Initial diagonal value, in [0, 1]. Defaults to
            0.9.
        per_channel: bool. One mixing matrix per channel. Defaults to False.
        **kwargs: base layer keyword arguments, e.g. `name`.

    Example:

    >>> unit = CrossStitchUnit(self_weight=0.9)
    >>> a, b = unit([np.ones((1, 4, 4, 8)), np.zeros((1, 4, 4, 8))])
    >>> round(float(a[0, 0, 0, 0]), 3), round(float(b[0, 0, 0, 0]), 3)
    (0.9, 0.1)

    Reference:
    - [Misra et al., 2016](https://arxiv.org/abs/1604.03539)
    """

    def __init__(self, self_weight=0.9, per_channel=False, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(self_weight) <= 1.0:
            raise ValueError(
                "`self_weight` must be in [0, 1]. "
                f"Received: self_weight={self_weight!r}"
            )
        self.self_weight = float(self_weight)
        self.per_channel = bool(per_channel)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape:
            raise ValueError(
                f"CrossStitchUnit '{self.name}' takes a list of tensors. "
                f"Received: input_shape={input_shape}"
            )
        shapes = [tuple(s) for s in input_shape]
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(
                f"CrossStitchUnit '{self.name}' needs inputs of one shape. "
                f"Received: input_shape={input_shape}"
            )
        t = len(shapes)
        diag = self.self_weight if t > 1 else 1.0
        off = (1.0 - diag) / (t - 1) if t > 1 else 0.0
        init = np.full((t, t), off, "float32")
        np.fill_diagonal(init, diag)
        shape = (t, t)
        if self.per_channel:
            channels = shapes[0][-1]
            init = init[None].repeat(channels, axis=0)
            shape = (channels, t, t)
        self.alpha = self.add_weight(
            shape=shape,
            initializer=keras.initializers.Constant(init),
            name="alpha",
        )

    def call(self, inputs):
        x = ops.stack(list(inputs), axis=-1)  # (..., C, T)
        alpha = ops.cast(self.alpha, x.dtype)
        if self.per_channel:
            out = ops.einsum("...cj,cij->...ci", x, alpha)
        else:
            out = ops.einsum("...cj,ij->...ci", x, alpha)
        return ops.unstack(out, num=len(inputs), axis=-1)

    def compute_output_shape(self, input_shape):
        return list(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"self_weight": self.self_weight, "per_channel": self.per_channel}
        )
        return config


@ARCHITECTURES.register("cross_stitch")
def build(image, stages, tasks, input_shape, heads, **options):
    """Per-task backbone columns with cross-stitch units between them.

    Every task has its own copy of every stage (`f"{task}_{level}"`, all
    starting from the same weights). After each level in `levels` a
    `CrossStitchUnit` (`f"cross_stitch_{level}"`) mixes the T columns'
    outputs, and each column continues from its mixed map; the heads (and
    dense skips) read the task's mixed features. By default every level is
    stitched, as the paper puts a unit after every pooling and fully
    connected layer. The shared representation (for gradient methods) is
    the columns' output entering the last unit, which every task reads
    through it, plus the dense skips taken before that unit.

    Args:
        levels: list of str. Levels followed by a unit. Defaults to every
            level of the backbone.
        self_weight: float in [0, 1]. Initial diagonal of the mixing
            matrices; the rest of each row is spread evenly. Defaults to 0.9.
        per_channel: bool. One mixing matrix per channel. Defaults to False.

    Reference:
    - [Misra et al., 2016](https://arxiv.org/abs/1604.03539)
    """
    unknown = {k: v for k, v in options.items() if k not in OPTIONS}
    _common.check_unknown(NAME, unknown, OPTIONS)
    stitched = _common.check_levels(
        NAME, "levels", options.get("levels"), stages.levels
    )
    self_weight = _common.check_float(
        NAME, "self_weight", options.get("self_weight", 0.9), 0.0, 1.0
    )
    per_channel = _common.check_bool(
        NAME, "per_channel", options.get("per_channel", False)
    )
    names = [t.name for t in tasks]
    current = {n: image for n in names}
    features = {n: {} for n in names}
    last = stitched[-1]
    shared = []
    for level in stages.levels:
        outs = [
            stages.copy_stage(level, f"{n}_{level}")(current[n]) for n in names
        ]
        if level in stitched:
            if level == last:
                for out in outs:
                    _common.add_shared(shared, out)
            unit = CrossStitchUnit(
                self_weight, per_channel, name=f"{NAME}_{level}"
            )
            outs = unit(outs)
        for name, out in zip(names, outs):
            current[name] = out
            features[name][level] = out
    dense_skips = [
        lv
        for lv in stages.levels
        if stages.levels.index(lv) < (stages.levels.index(last))
    ]
    for task in tasks:
        if task.is_dense:
            for level in dense_skips:
                _common.add_shared(shared, features[task.name][level])
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, shared, []
