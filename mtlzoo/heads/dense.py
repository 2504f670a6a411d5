"""Dense decoder for per-pixel tasks: segmentation, depth, normals."""

from keras import layers

from mtlzoo.heads.base import Resize
from mtlzoo.heads.base import as_units
from mtlzoo.heads.base import register_head


@register_head("dense")
class DenseHead:
    """Decoder from the deepest level back to input resolution with skips.

    Starting at the deepest feature map of the task's path, each step
    resizes to the next shallower level named in `skips`, concatenates that
    level's features (shared-trunk or branch), and applies conv-BN-ReLU.
    A final resize brings it to the task's output size (the input size, or
    a heatmap's `input / stride`); the output layer is named
    after the task: a 1x1 convolution to `task.output_shape(...)[-1]`
    channels with the task's `output_activation` (softmax classes for
    segmentation, one linear channel for depth), or, for tasks with
    `unit_vectors` (normals), a convolution followed by a unit
    normalisation.

    Args:
        task: mtlzoo.Task. A segmentation, depth or normals task.
        width: int. Channels of the decoder convolutions. Defaults to 64.
        skips: list of str. Levels whose features are concatenated on the
            way up. Defaults to every level of the path below the deepest
            that is no finer than the output.
        convs: int. Conv-BN-ReLU blocks per step. Defaults to 1.
    """

    options = ("width", "skips", "convs")

    def __init__(self, task, width=64, skips=None, convs=1):
        self.task = task
        self.width = as_units("width", task.name, width)[0]
        if isinstance(convs, bool) or not isinstance(convs, int) or convs < 1:
            raise ValueError(
                f"Head option `convs` of task '{task.name}' must be an int "
                f">= 1. Received: convs={convs!r}"
            )
        self.convs = convs
        self.skips = None if skips is None else list(skips)

    def _block(self, x, tag):
        name = self.task.name
        for i in range(1, self.convs + 1):
            x = layers.Conv2D(
                self.width,
                3,
                padding="same",
                use_bias=False,
                name=f"{name}_head_{tag}_conv_{i}",
            )(x)
            x = layers.BatchNormalization(
                momentum=0.9, name=f"{name}_head_{tag}_bn_{i}"
            )(x)
            x = layers.ReLU(name=f"{name}_head_{tag}_relu_{i}")(x)
        return x

    def __call__(self, features, input_shape):
        name = self.task.name
        deepest = max(features)
        height, width = self.task.output_shape(input_shape)[:2]
        skips = self.skips
        if skips is None:
            skips = [
                lv
                for lv in features
                if lv != deepest
                and (features[lv].shape[1] or 0) <= (height or 0)
            ]
        unknown = sorted(set(skips) - set(features) | ({deepest} & set(skips)))
        if unknown:
            raise ValueError(
                f"Head option `skips` of task '{name}' names levels this "
                f"path lacks or its deepest level; available skips: "
                f"{sorted(lv for lv in features if lv != deepest)}. "
                f"Received: skips={self.skips!r}"
            )
        x = layers.Conv2D(self.width, 1, name=f"{name}_head_{deepest}_project")(
            features[deepest]
        )
        for level in sorted(skips, reverse=True):
            skip = features[level]
            h, w = skip.shape[1], skip.shape[2]
            x = Resize(
                h, w, interpolation="bilinear", name=f"{name}_head_{level}_up"
            )(x)
            x = layers.Concatenate(name=f"{name}_head_{level}_concat")(
                [x, skip]
            )
            x = self._block(x, level)
        x = Resize(
            height,
            width,
            interpolation="bilinear",
            name=f"{name}_head_upsample",
        )(x)
        x = self._block(x, "out")
        channels = self.task.output_shape(input_shape)[-1]
        if self.task.unit_vectors:
            x = layers.Conv2D(channels, 1, name=f"{name}_head_vectors")(x)
            return layers.UnitNormalization(
                axis=-1, name=name, dtype="float32"
            )(x)
        return layers.Conv2D(
            channels,
            1,
            activation=self.task.output_activation,
            name=name,
            dtype="float32",
        )(x)
