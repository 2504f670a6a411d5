"""Soft parameter sharing: one backbone per task, L2-coupled weights."""

import keras
from keras import ops

from mtlzoo.architectures import _common
from mtlzoo.architectures._catalog import ARCHITECTURES

NAME = "soft_sharing"
OPTIONS = ("coupling", "levels")


@keras.saving.register_keras_serializable(package="mtlzoo")
class SoftSharingCoupling(keras.layers.Layer):
    """Identity layer that adds an L2 coupling between models' weights.

    It passes its input through unchanged and adds, with `add_loss`,

        coupling * sum_{i < j} sum_w ||w_i - w_j||^2

    over every pair of coupled models `i, j` (e.g. the task copies of one
    backbone stage) and every trainable weight `w` (kernels, biases,
    normalisation scales and offsets; not moving statistics). The penalty
    is zero for identical copies and grows with the squared distance
    between them. The models are given by `couple(models)` when the
    architecture builds the graph; they are not part of the config (a
    layer rebuilt from its config alone adds nothing until coupled). The
    layer reads their weights without taking their outputs, so the graph
    keeps the copies on separate task paths (put it on a tensor every task
    reads, such as the input).

    Args:
        coupling: float. Strength of the penalty. Defaults to 1e-3.
        **kwargs: base layer keyword arguments, e.g. `name`.

    Example:

    >>> a, b = keras.layers.Dense(2), keras.layers.Dense(2)
    >>> x = np.ones((1, 3))
    >>> features = [a(x), b(x)]  # builds both (different initial weights)
    >>> layer = SoftSharingCoupling(1e-3)
    >>> layer.couple([a, b])
    >>> y = layer(x)
    >>> float(layer.penalty()) > 0
    True

    Reference:
    - [Duong et al., 2015](https://aclanthology.org/P15-2139/)
    - [Ruder, 2017](https://arxiv.org/abs/1706.05098)
    """

    def __init__(self, coupling=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.coupling = float(coupling)
        # Not tracked: the coupled weights belong to the stage models.
        object.__setattr__(self, "_coupled", ())

    def couple(self, models):
        """Couple the trainable weights of `models` (same structure)."""
        groups = [list(m.trainable_weights) for m in models]
        shapes = [[tuple(w.shape) for w in g] for g in groups]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(
                f"SoftSharingCoupling '{self.name}' needs models with the "
                "same weights. Received: weight shapes="
                f"{[len(s) for s in shapes]} weights per model"
            )
        object.__setattr__(self, "_coupled", tuple(groups))

    def penalty(self):
        """Current value of the coupling penalty (a scalar tensor)."""
        total = ops.zeros((), "float32")
        groups = self._coupled
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                for a, b in zip(groups[i], groups[j]):
                    diff = ops.cast(a, "float32") - ops.cast(b, "float32")
                    total = total + ops.sum(ops.square(diff))
        return self.coupling * total

    def call(self, inputs):
        if self._coupled:
            self.add_loss(self.penalty())
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["coupling"] = self.coupling
        return config


@ARCHITECTURES.register("soft_sharing")
def build(image, stages, tasks, input_shape, heads, **options):
    """One copy of every backbone stage per task, weights coupled by L2.

    Every task runs its own copy of the whole backbone (`copy_stage` for
    every level, named `f"{task}_{level}"`, all initialised from the same
    weights, so the penalty starts at zero). For each coupled level a
    `SoftSharingCoupling` layer (`f"soft_sharing_{level}"`, an identity on
    the preprocessed image) adds the L2 distance between the task copies
    of that stage to the model's losses; the model logs it as
    `regularization_loss`. No parameter is used by every task; the input is
    returned as the shared representation (as hard sharing does when every
    task branches at `"P0"`), so gradient methods fall back to the plain
    weighted sum.

    Args:
        coupling: float >= 0. Strength of the L2 coupling. Defaults to 1e-3.
        levels: list of str. Levels whose stage copies are coupled.
            Defaults to every level.

    Reference:
    - [Duong et al., 2015](https://aclanthology.org/P15-2139/)
    - [Yang & Hospedales, 2017](https://arxiv.org/abs/1606.04038)
    """
    unknown = {k: v for k, v in options.items() if k not in OPTIONS}
    _common.check_unknown(NAME, unknown, OPTIONS)
    coupling = _common.check_float(
        NAME, "coupling", options.get("coupling", 1e-3), 0.0
    )
    coupled = _common.check_levels(
        NAME, "levels", options.get("levels"), stages.levels
    )
    copies = {
        t.name: {
            lv: stages.copy_stage(lv, f"{t.name}_{lv}") for lv in stages.levels
        }
        for t in tasks
    }
    # The couplings sit on the input every copy reads: on a task's own path
    # they would join the copies in the graph, and every column would look
    # like a parameter shared by all tasks.
    x = image
    for level in coupled:
        layer = SoftSharingCoupling(coupling, name=f"{NAME}_{level}")
        layer.couple([copies[t.name][level] for t in tasks])
        x = layer(x)
    features = {}
    for task in tasks:
        features[task.name] = _common.run_stages(
            x, copies[task.name], stages.levels
        )
    outputs = _common.build_heads(tasks, features, heads, input_shape)
    return outputs, [x], []
