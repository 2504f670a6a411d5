"""Graph head: a converted subgraph (a Keras functional config) as a head.

A head split off a converted graph (`mtlzoo.convert.split_model`) is a
small functional model whose inputs are *sources*: feature levels
(`"P5"`) or the outputs of shared *blocks* (subgraphs several heads read,
built once per model and reused by every head that names them). Head and
block graphs ship as JSON under `mtlzoo/heads/graphs/<name>.json`:
`{"inputs": [sources], "config": <keras.Model.get_config()>}`; a head's
`graph` option names one (or is such a dict inline), so the head options
stay JSON and the model's config round-trips.

`adapters` builds the standard layers that turn a converted output into
a task kind's output (pixels -> fractions, a logit -> two-class
probabilities, ...); converters append them to the head graph, so a
saved model needs no custom object.
"""

import copy
import pathlib

import keras
import numpy as np
from keras import layers

from mtlzoo import _files
from mtlzoo.backbones.stages import LEVELS
from mtlzoo.heads.base import register_head

GRAPHS = pathlib.Path(__file__).parent / "graphs"
# (block name, ids of its input tensors) -> (input tensors, output)
_BLOCKS = {}
_MAX_BLOCKS = 64


def load_head_graph(graph):
    """A head or block graph: a shipped name, a JSON path or the dict.

    Returns:
        dict with `inputs` (list of sources) and `config` (a functional
        `keras.Model` config).
    """
    graph = _files.named_json(
        graph,
        GRAPHS,
        "head graph",
        "a JSON file path or a dict with `inputs` and `config`",
    )
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("inputs"), list)
        or not isinstance(graph.get("config"), dict)
    ):
        raise ValueError(
            "A head graph is a dict with `inputs` (list of sources: levels "
            "'P1'..'P5' or shared block graph names) and `config` (a "
            f"functional keras.Model config). Received: graph={graph!r}"
        )
    return graph


@register_head("graph")
class GraphHead:
    """Runs a converted subgraph on the features it names.

    The subgraph (a functional model of standard layers) becomes one
    nested model named after the task, so its output is the task's
    output. Shared blocks it reads are built once per set of input
    features and reused by every head naming them.

    Args:
        task: mtlzoo.Task. The task; the graph must output its shape.
        graph: str or dict. A shipped head graph name (see
            `mtlzoo/heads/graphs/`), a JSON file path or the dict
            (`inputs`, `config`). Required.
        type: str. `"graph"` (how a task's `head` options select this
            head instead of its kind's default).

    Example:

    >>> task = mtlzoo.Task("presence", "classification", num_classes=2,
    ...                    head={"type": "graph",
    ...                          "graph": "mediapipe_face_mesh.presence"})
    """

    options = ("graph",)

    def __init__(self, task, graph=None):
        if graph is None:
            raise ValueError(
                f"The graph head of task '{task.name}' needs the option "
                f"`graph` (a shipped head graph name or a dict). "
                f"Received: graph={graph!r}"
            )
        self.task = task
        self.graph = load_head_graph(graph)

    def __call__(self, features, input_shape):
        inputs = [_source(s, features) for s in self.graph["inputs"]]
        config = dict(copy.deepcopy(self.graph["config"]), name=self.task.name)
        model = _from_config(config, self.task.name)
        _check_inputs(model, inputs, self.graph["inputs"], self.task.name)
        out = model(inputs if len(inputs) > 1 else inputs[0])
        expected = (None,) + tuple(self.task.output_shape(input_shape))
        if tuple(out.shape) != expected:
            raise ValueError(
                f"The graph head of task '{self.task.name}' outputs shape "
                f"{tuple(out.shape)}, the task needs {expected}. "
                f"Received: graph inputs={self.graph['inputs']!r}"
            )
        return out


def _from_config(config, name):
    """`keras.Model.from_config`, failing with a message naming `name`."""
    try:
        return keras.Model.from_config(config)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(
            f"The graph of '{name}' is not a functional keras.Model config "
            f"({type(error).__name__}: {str(error)[:200]}). "
            f"Received: config keys={sorted(config)}"
        ) from None


def _check_inputs(model, inputs, sources, name):
    """A clear error when a graph's inputs do not fit its sources."""
    for source, tensor, expected in zip(sources, inputs, model.inputs):
        if tuple(tensor.shape[1:]) != tuple(expected.shape[1:]):
            raise ValueError(
                f"The graph of '{name}' reads {source} of shape "
                f"{tuple(tensor.shape[1:])}, but its input expects "
                f"{tuple(expected.shape[1:])} (a graph fits only the backbone"
                " and input size it was split from). "
                f"Received: sources={sources!r}"
            )


def _source(source, features):
    """The tensor a source names: a level or a shared block's output."""
    if source in LEVELS:
        if source not in features:
            raise ValueError(
                f"The head graph reads level {source}, which the backbone "
                f"does not have (levels: {sorted(features)}). "
                f"Received: source={source!r}"
            )
        return features[source]
    name, _, index = source.partition(":")
    outputs = _block(name, features)
    return outputs[int(index or 0)]


def _block(name, features):
    """The outputs (a list) of shared block `name` on these features,
    built the first time they are asked for."""
    graph = load_head_graph(name)
    inputs = [_source(s, features) for s in graph["inputs"]]
    key = (name, tuple(id(t) for t in inputs))
    cached = _BLOCKS.get(key)
    if cached is not None and all(a is b for a, b in zip(cached[0], inputs)):
        return cached[1]
    # Unique per input features (branch points give a block per branch).
    producer = inputs[0]._keras_history.operation.name
    config = dict(
        copy.deepcopy(graph["config"]),
        name=f"{name.replace('.', '_')}__{producer}",
    )
    model = _from_config(config, name)
    _check_inputs(model, inputs, graph["inputs"], name)
    out = model(inputs if len(inputs) > 1 else inputs[0])
    out = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(_BLOCKS) >= _MAX_BLOCKS:
        _BLOCKS.pop(next(iter(_BLOCKS)))
    _BLOCKS[key] = (inputs, out)
    return out


class adapters:
    """Standard-layer adapters from converted outputs to task kinds.

    Each takes a Keras tensor and a name prefix and returns a tensor; the
    fixed kernels are non-trainable, so fine-tuning leaves them alone.
    """

    @staticmethod
    def points(x, num_points, values, scale, visibility, name):
        """`(B, K * values)` (or `(B, 1, 1, K * values)`) points in pixels
        `x, y, z[, visibility logit, ...]` -> `(B, K, 3 [+ 1])`: the
        coordinates divided by `scale` (the input size), then
        `sigmoid(visibility logit)` when `visibility`."""
        x = layers.Reshape((num_points, values), name=f"{name}_points")(x)
        kernel = np.zeros((values, 3), "float32")
        kernel[[0, 1, 2], [0, 1, 2]] = 1.0 / scale
        coords = _fixed_dense(x, kernel, None, None, f"{name}_coords")
        if not visibility:
            return coords
        select = np.zeros((values, 1), "float32")
        select[3, 0] = 1.0
        vis = _fixed_dense(x, select, None, "sigmoid", f"{name}_visibility")
        return layers.Concatenate(name=f"{name}_with_visibility")([coords, vis])

    @staticmethod
    def scale(x, shape, scale, name):
        """Reshape to `shape` and multiply by `scale` (e.g. world points
        `(B, K * 3)` -> `(B, K, 3)`)."""
        x = layers.Reshape(tuple(shape), name=f"{name}_reshape")(x)
        return layers.Rescaling(scale, name=f"{name}_scale")(x)

    @staticmethod
    def two_class(x, logit, name, per_pixel=False):
        """One score per sample (or per pixel, `per_pixel=True`, on a
        `(B, H, W, 1)` map) -> `[1 - p, p]`. A `logit` goes through
        `Dense([[0, 1]])` + softmax (exactly `[1 - sigmoid, sigmoid]`); a
        probability through `Dense([[-1, 1]], bias [1, 0])`."""
        if not per_pixel:
            x = layers.Reshape((1,), name=f"{name}_score")(x)
        if logit:
            x = _fixed_dense(x, [[0.0, 1.0]], None, None, f"{name}_pair")
            return layers.Softmax(name=f"{name}_softmax")(x)
        return _fixed_dense(x, [[-1.0, 1.0]], [1.0, 0.0], None, f"{name}_pair")


def _fixed_dense(x, kernel, bias, activation, name):
    kernel = np.asarray(kernel, "float32")
    dense = layers.Dense(
        kernel.shape[1],
        activation=activation,
        use_bias=bias is not None,
        trainable=False,
        name=name,
    )
    y = dense(x)
    weights = [kernel] + ([np.asarray(bias, "float32")] if bias else [])
    dense.set_weights(weights)
    return y
