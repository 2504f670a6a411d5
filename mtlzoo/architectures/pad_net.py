"""PAD-Net: intermediate task predictions and multi-modal distillation."""

import keras
from keras import layers
from keras import ops

from mtlzoo.architectures import _common
from mtlzoo.architectures._catalog import ARCHITECTURES

NAME = "pad_net"
OPTIONS = ("level", "width")


@keras.saving.register_keras_serializable(package="mtlzoo")
class MultiModalDistillation(keras.layers.Layer):
    """Attention-guided message passing into one task's features.

    Called on `[own, *others]` (feature maps of one shape, `C` channels),
    returns `own + sigmoid(conv(own)) * conv(concat(others))`: the other
    tasks' features, each through its own convolution (one convolution
    over their concatenation), gated by an attention map computed from the
    receiving task's features. This is PAD-Net's distillation module (c).

    Args:
        kernel_size: int. Size of the gate and message convolutions.
            Defaults to 3.
        **kwargs: base layer keyword arguments, e.g. `name`.

    Example:

    >>> own = keras.Input((8, 8, 16))
    >>> other = keras.Input((8, 8, 16))
    >>> MultiModalDistillation(name="depth_distillation")([own, other]).shape
    (None, 8, 8, 16)

    Reference:
    - [Xu et al., 2018](https://arxiv.org/abs/1805.04409)
    """

    def __init__(self, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"MultiModalDistillation '{self.name}' needs its own and at "
                f"least one other task's features. "
                f"Received: input_shape={input_shape}"
            )
        channels = input_shape[0][-1]
        if any(tuple(s[1:]) != tuple(input_shape[0][1:]) for s in input_shape):
            raise ValueError(
                f"MultiModalDistillation '{self.name}' needs inputs of one "
                f"shape. Received: input_shape={input_shape}"
            )
        k = self.kernel_size
        sources = len(input_shape) - 1
        self.gate_kernel = self.add_weight(
            shape=(k, k, channels, channels),
            initializer="glorot_uniform",
            name="gate_kernel",
        )
        self.gate_bias = self.add_weight(
            shape=(channels,), initializer="zeros", name="gate_bias"
        )
        self.message_kernel = self.add_weight(
            shape=(k, k, sources * channels, channels),
            initializer="glorot_uniform",
            name="message_kernel",
        )
        self.message_bias = self.add_weight(
            shape=(channels,), initializer="zeros", name="message_bias"
        )

    def call(self, inputs):
        own, others = inputs[0], list(inputs[1:])
        gate = ops.sigmoid(
            ops.conv(own, self.gate_kernel, padding="same") + self.gate_bias
        )
        stacked = ops.concatenate(others, axis=-1)
        message = ops.conv(stacked, self.message_kernel, padding="same")
        return own + gate * (message + self.message_bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config["kernel_size"] = self.kernel_size
        return config


def _conv_block(x, width, prefix):
    x = layers.Conv2D(
        width, 3, padding="same", use_bias=False, name=f"{prefix}_conv"
    )(x)
    x = layers.BatchNormalization(name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


@ARCHITECTURES.register("pad_net")
def build(image, stages, tasks, input_shape, heads, **options):
    """Intermediate predictions per task, distilled into the final ones.

    On the shared backbone features of `level`, each task `t` computes
    features (`f"{t}_pad_net_features_*"`), an intermediate prediction at
    that resolution (`f"{t}_pad_net_aux"`: per-pixel class scores, depth,
    normals or values, with the task's output channels) and an embedding
    of both (`f"{t}_pad_net_embed_*"`). A `MultiModalDistillation` layer
    per task (`f"{t}_distillation"`) adds the other tasks' embeddings,
    gated by attention from its own, and the task head reads the result
    (dense heads also take the shared skips below `level`).

    Intermediate supervision: the model sees labels only in its loss, keyed
    by task, so the intermediate predictions have no loss of their own.
    They are trained through the final predictions (the distillation and
    heads read them), i.e. as prediction-shaped bottlenecks rather than the
    paper's deep supervision.

    Args:
        level: str. Backbone level of the intermediate predictions and the
            distillation. Defaults to the deepest level; a shallower level
            gives dense tasks more resolution (deeper stages are then not
            used).
        width: int. Channels of the task features and embeddings.
            Defaults to 64.

    Reference:
    - [Xu et al., 2018](https://arxiv.org/abs/1805.04409)
    """
    unknown = {k: v for k, v in options.items() if k not in OPTIONS}
    _common.check_unknown(NAME, unknown, OPTIONS)
    level = _common.check_level(
        NAME, "level", options.get("level", stages.levels[-1]), stages.levels
    )
    width = _common.check_int(NAME, "width", options.get("width", 64))
    used = stages.levels[: stages.levels.index(level) + 1]
    trunk = _common.run_stages(image, stages.stages, used)
    u = trunk[level]
    shared = [u]
    embedded = {}
    for task in tasks:
        n = task.name
        x = _conv_block(u, width, f"{n}_{NAME}_features")
        channels = task.output_shape(input_shape)[-1]
        aux = layers.Conv2D(
            channels,
            1,
            activation=task.output_activation,
            name=f"{n}_{NAME}_aux",
        )(x)
        x = layers.Concatenate(name=f"{n}_{NAME}_concat")([x, aux])
        embedded[n] = _conv_block(x, width, f"{n}_{NAME}_embed")
    features = {}
    for task in tasks:
        n = task.name
        own = embedded[n]
        others = [embedded[t.name] for t in tasks if t.name != n]
        if others:
            own = MultiModalDistillation(name=f"{n}_distillation")(
                [own] + others
            )
        feats = {}
        if task.is_dense:
            feats = {lv: trunk[lv] for lv in used[:-1]}
            for lv in used[:-1]:
                _common.add_shared(shared, trunk[lv])
        feats[level] = own
        features[n] = feats
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, shared, []
