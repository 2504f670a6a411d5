"""Experts and gates shared by the mixture-of-experts architectures
(`mmoe.py`, `cgc.py`, `ple.py`).

The experts and gates are layers that work on any tensor whose last axis is
the feature axis, so they serve tabular (vector) inputs as well as feature
maps. In a `MultiTaskModel` they sit on the backbone's deepest level:
global-average-pooled to a vector (`spatial=False`, the papers' setting),
or, for dense tasks, on the feature map itself (`spatial=True`: experts are
convolutions and the gates mix them per pixel).
"""

import keras
from keras import activations
from keras import ops

from mtlzoo.architectures import _common

OPTIONS = {
    "mmoe": ("num_experts", "expert_units", "spatial", "kernel_size"),
    "cgc": (
        "num_experts",
        "num_shared_experts",
        "expert_units",
        "spatial",
        "kernel_size",
    ),
    "ple": (
        "num_experts",
        "num_shared_experts",
        "num_levels",
        "expert_units",
        "spatial",
        "kernel_size",
    ),
}


@keras.saving.register_keras_serializable(package="mtlzoo")
class Experts(keras.layers.Layer):
    """`num_experts` parallel MLPs (or conv stacks) on the last axis.

    Maps `(..., D)` to `(..., num_experts, units[-1])`: each expert is a
    stack of dense layers with `activation`, computed for all experts at
    once with batched kernels. On a feature map `(batch, H, W, D)` with
    `kernel_size > 1`, the first layer of every expert is a
    `kernel_size x kernel_size` convolution ("same" padding) and the rest
    are 1x1 (per pixel).

    Args:
        num_experts: int. Number of experts.
        units: int or list of int. Layer widths of each expert.
        activation: str. Activation after every layer. Defaults to "relu".
        kernel_size: int. Spatial size of the first layer on 4D inputs.
            Defaults to 1.
        **kwargs: base layer keyword arguments, e.g. `name`.

    Example:

    >>> x = keras.Input((16,))
    >>> Experts(4, [8])(x).shape
    (None, 4, 8)

    Reference:
    - [Ma et al., 2018](https://dl.acm.org/doi/10.1145/3219819.3220007)
    """

    def __init__(
        self, num_experts, units, activation="relu", kernel_size=1, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_experts = int(num_experts)
        self.units = [units] if isinstance(units, int) else list(units)
        self.activation = activations.get(activation)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        if self.kernel_size > 1 and len(input_shape) != 4:
            raise ValueError(
                f"Experts '{self.name}' with kernel_size > 1 need a 4D "
                f"feature map. Received: input_shape={input_shape}"
            )
        e = self.num_experts
        previous = input_shape[-1]
        self.kernels, self.biases = [], []
        for i, units in enumerate(self.units):
            if i == 0 and self.kernel_size > 1:
                k = self.kernel_size
                shape = (k, k, previous, e * units)
            elif i == 0:
                shape = (previous, e, units)
            else:
                shape = (e, previous, units)
            self.kernels.append(
                self.add_weight(
                    shape=shape,
                    initializer="glorot_uniform",
                    name=f"kernel_{i}",
                )
            )
            self.biases.append(
                self.add_weight(
                    shape=(e, units), initializer="zeros", name=f"bias_{i}"
                )
            )
            previous = units

    def call(self, inputs):
        x = inputs
        e = self.num_experts
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            if i == 0 and self.kernel_size > 1:
                x = ops.conv(x, kernel, padding="same")
                h, w = x.shape[1], x.shape[2]
                x = ops.reshape(x, (-1, h, w, e, self.units[0]))
            elif i == 0:
                x = ops.einsum("...d,deu->...eu", x, kernel)
            else:
                x = ops.einsum("...ev,evu->...eu", x, kernel)
            x = self.activation(x + bias)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_experts, self.units[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_experts": self.num_experts,
                "units": list(self.units),
                "activation": activations.serialize(self.activation),
                "kernel_size": self.kernel_size,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="mtlzoo")
class ExpertGate(keras.layers.Layer):
    """A softmax gate that mixes expert outputs.

    Called on `[gate_input, experts]` with `gate_input` of shape
    `(..., D)` and `experts` of shape `(..., E, U)` (the output of
    `Experts`, possibly several concatenated on axis -2). The gate weights
    `softmax(gate_input @ W + b)` have shape `(..., E)` and sum to 1 over
    the experts; the output is the weighted sum `(..., U)`. A vector gate
    input `(batch, D)` with feature-map experts `(batch, H, W, E, U)` gives
    one gate per sample; a feature-map gate input gives one per pixel.

    Args:
        **kwargs: base layer keyword arguments, e.g. `name`.

    Example:

    >>> x = keras.Input((16,))
    >>> experts = Experts(4, [8])(x)
    >>> ExpertGate(name="task_gate")([x, experts]).shape
    (None, 8)

    Reference:
    - [Ma et al., 2018](https://dl.acm.org/doi/10.1145/3219819.3220007)
    """

    def build(self, input_shape):
        gate_shape, experts_shape = input_shape
        num_experts = experts_shape[-2]
        self.kernel = self.add_weight(
            shape=(gate_shape[-1], num_experts),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(num_experts,), initializer="zeros", name="bias"
        )

    def gate_weights(self, gate_input):
        """The `(..., E)` gate weights for `gate_input`."""
        x = ops.convert_to_tensor(gate_input, self.compute_dtype)
        logits = ops.einsum("...d,de->...e", x, self.kernel) + self.bias
        return ops.softmax(logits, axis=-1)

    def call(self, inputs):
        gate_input, experts = inputs
        weights = self.gate_weights(gate_input)
        while len(weights.shape) + 1 < len(experts.shape):
            weights = ops.expand_dims(weights, 1)
        return ops.einsum("...e,...eu->...u", weights, experts)

    def compute_output_shape(self, input_shape):
        gate_shape, experts_shape = input_shape
        return tuple(experts_shape[:-2]) + (experts_shape[-1],)


def check_options(name, tasks, options):
    """Checked options of architecture `name`, with defaults filled in."""
    allowed = OPTIONS[name]
    unknown = {k: v for k, v in options.items() if k not in allowed}
    _common.check_unknown(name, unknown, allowed)
    default_experts = 4 if name == "mmoe" else 2
    out = {
        "num_experts": _common.check_int(
            name, "num_experts", options.get("num_experts", default_experts)
        ),
        "expert_units": _common.check_units(
            name, "expert_units", options.get("expert_units", 64)
        ),
        "kernel_size": _common.check_int(
            name, "kernel_size", options.get("kernel_size", 1)
        ),
    }
    if name != "mmoe":
        out["num_shared_experts"] = _common.check_int(
            name,
            "num_shared_experts",
            options.get("num_shared_experts", 2),
        )
    if name == "ple":
        out["num_levels"] = _common.check_int(
            name, "num_levels", options.get("num_levels", 2)
        )
    spatial = options.get("spatial")
    dense = [t.name for t in tasks if t.is_dense]
    if spatial is None:
        spatial = bool(dense)
    _common.check_bool(name, "spatial", spatial)
    if dense and not spatial:
        raise ValueError(
            f"Architecture '{name}' with spatial=False mixes pooled vectors, "
            f"which cannot feed the dense task(s) {dense}; use spatial=True "
            "(conv experts, per-pixel gates) or leave `spatial` unset. "
            f"Received: spatial={spatial!r}"
        )
    if out["kernel_size"] > 1 and not spatial:
        raise ValueError(
            f"Option `kernel_size` of architecture '{name}' applies to "
            "spatial experts only; set spatial=True. "
            f"Received: kernel_size={out['kernel_size']!r}"
        )
    out["spatial"] = spatial
    return out


def gated_experts(
    x,
    task_names,
    kind="mmoe",
    num_experts=None,
    num_shared_experts=2,
    num_levels=2,
    expert_units=64,
    kernel_size=1,
):
    """Per-task expert mixtures on any tensor (vector or feature map).

    Builds the expert graph of MMoE, CGC or PLE on `x` (features on the
    last axis) and returns one mixture per task, to put task towers on.
    Works on a plain `keras.Input((features,))`, so tabular data needs no
    backbone.

    Args:
        x: tensor `(batch, D)` or `(batch, H, W, D)`.
        task_names: list of str. One gate (and, for CGC/PLE, one set of
            experts) per task, named after it.
        kind: str. `"mmoe"` (experts shared by all gates), `"cgc"` (task
            and shared experts) or `"ple"` (`num_levels` stacked CGC
            layers). Defaults to `"mmoe"`.
        num_experts: int. Experts in MMoE, or per task and layer in CGC and
            PLE. Defaults to 4 for MMoE, else 2.
        num_shared_experts: int. Shared experts per layer (CGC, PLE).
            Defaults to 2.
        num_levels: int. Extraction layers (PLE). Defaults to 2.
        expert_units: int or list of int. Layer widths of each expert.
            Defaults to 64.
        kernel_size: int. Size of each expert's first convolution on a
            feature map. Defaults to 1.

    Returns:
        A dict task name -> mixture `(batch, units)` (or
        `(batch, H, W, units)`).

    Example:

    >>> x = keras.Input((12,))
    >>> mixed = gated_experts(x, ["click", "buy"], "ple", expert_units=8)
    >>> outputs = {n: keras.layers.Dense(1, name=n)(m)
    ...            for n, m in mixed.items()}
    >>> model = keras.Model(x, outputs)

    Reference:
    - [Ma et al., 2018](https://dl.acm.org/doi/10.1145/3219819.3220007)
    - [Tang et al., 2020](https://dl.acm.org/doi/10.1145/3383313.3412236)
    """
    if kind not in OPTIONS:
        raise ValueError(
            f"Unknown expert architecture; expected one of {list(OPTIONS)}. "
            f"Received: kind={kind!r}"
        )
    if num_experts is None:
        num_experts = 4 if kind == "mmoe" else 2

    def experts(count, name, inputs):
        return Experts(count, expert_units, kernel_size=kernel_size, name=name)(
            inputs
        )

    if kind == "mmoe":
        pool = experts(num_experts, "mmoe_experts", x)
        return {n: ExpertGate(name=f"{n}_gate")([x, pool]) for n in task_names}
    inputs = {n: x for n in task_names}
    shared_input = x
    levels = num_levels if kind == "ple" else 1
    concat = keras.layers.Concatenate
    for k in range(1, levels + 1):
        prefix = f"ple_{k}_" if kind == "ple" else ""
        shared = experts(
            num_shared_experts, f"{prefix}shared_experts", shared_input
        )
        own = {
            n: experts(num_experts, f"{n}_{prefix}experts", inputs[n])
            for n in task_names
        }
        mixed = {}
        for n in task_names:
            pool = concat(axis=-2, name=f"{n}_{prefix}gate_experts")(
                [own[n], shared]
            )
            mixed[n] = ExpertGate(name=f"{n}_{prefix}gate")([inputs[n], pool])
        if k < levels:
            pool = concat(axis=-2, name=f"{prefix}shared_gate_experts")(
                [own[n] for n in task_names] + [shared]
            )
            shared_input = ExpertGate(name=f"{prefix}shared_gate")(
                [shared_input, pool]
            )
        inputs = mixed
    return inputs


def build_experts(kind, image, stages, tasks, input_shape, heads, options):
    """The `build` of architecture `kind` (`"mmoe"`, `"cgc"`, `"ple"`)."""
    opts = check_options(kind, tasks, options)
    spatial = opts.pop("spatial")
    trunk = _common.run_stages(image, stages.stages, stages.levels)
    deepest = stages.levels[-1]
    x = trunk[deepest]
    if not spatial and len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="experts_pool")(x)
    shared = [x]
    mixed = gated_experts(x, [t.name for t in tasks], kind, **opts)
    features = {}
    for task in tasks:
        feats = {}
        if task.is_dense:
            for level in stages.levels[:-1]:
                feats[level] = trunk[level]
                _common.add_shared(shared, trunk[level])
        feats[deepest] = mixed[task.name]
        features[task.name] = feats
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, shared, []
