"""Weights of a converted preset: a converted graph mapped onto a preset.

A converted preset (`tools/convert_mediapipe.py`) is a `MultiTaskModel`
whose trunk and heads are the layers of a converted graph
(`from_tflite` + `split_model`), each head ending in standard-layer
adapters (`mtlzoo.heads.graph.adapters`) that turn the graph's output into
its task kind's. Layers keep the converted graph's names, so the weights
map layer by layer, by name: `preset_weights` collects them (the graph's
and the adapters' fixed kernels), `assign_weights` sets them on a model
built from the preset's config. The conversion tool and the
convert-on-first-use path (`mtlzoo.presets.first_use`) share this code.
"""

import hashlib

import keras
import numpy as np

from mtlzoo.heads.graph import adapters


def all_layers(model):
    """The layers of `model`, nested models flattened, in order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(all_layers(layer))
        else:
            out.append(layer)
    return out


def is_probability_output(model, index):
    """Whether output `index` of a converted graph ends in a sigmoid."""
    tensor = keras.tree.flatten(model.outputs)[index]
    layer = tensor._keras_history.operation
    while isinstance(layer, keras.layers.Reshape):
        node = layer._inbound_nodes[0]
        layer = node.input_tensors[0]._keras_history.operation
    return getattr(layer, "activation", None) is keras.activations.sigmoid or (
        isinstance(layer, keras.layers.Activation)
        and layer.get_config()["activation"] == "sigmoid"
    )


def adapt(task, tensor, size, is_probability):
    """The adapter layers of `task` on a converted output tensor.

    Args:
        task: `mtlzoo.Task`. The task the output feeds.
        tensor: Keras tensor. The converted graph's output.
        size: int. The input size (points in pixels are divided by it).
        is_probability: bool. The output is a probability, not a logit.

    Returns:
        The adapted Keras tensor (the task kind's output).
    """
    name = f"{task.name}_adapt"
    if task.kind == "keypoints" and task.visibility:
        values = tensor.shape[-1] // task.num_keypoints
        return adapters.points(
            tensor, task.num_keypoints, values, size, True, name
        )
    if task.kind == "keypoints" and "world" in task.name:
        return adapters.scale(tensor, (task.num_keypoints, 3), 1.0, name)
    if task.kind == "keypoints":
        return adapters.points(tensor, task.num_keypoints, 3, size, False, name)
    if task.kind in ("classification", "segmentation"):
        return adapters.two_class(
            tensor, not is_probability, name, task.kind == "segmentation"
        )
    if task.kind == "heatmap":
        return keras.layers.Activation("sigmoid", name=f"{name}_sigmoid")(
            tensor
        )
    raise ValueError(
        f"No adapter from a converted output to task kind '{task.kind}'. "
        f"Received: task={task.name!r}"
    )


def preset_weights(original, tasks, outputs, size):
    """Layer name -> weights of a converted preset.

    Args:
        original: `keras.Model`. The converted graph (`from_tflite`).
        tasks: list of `mtlzoo.Task`. The preset's tasks.
        outputs: dict. Task name -> index of the graph output it reads.
        size: int. The input size.

    Returns:
        dict layer name -> list of arrays: every layer of the graph, plus
        the adapter layers of each task (built on the graph's outputs).
    """
    weights = {layer.name: layer.get_weights() for layer in original.layers}
    flat = keras.tree.flatten(original.outputs)
    for task in tasks:
        index = outputs[task.name]
        probability = is_probability_output(original, index)
        head = keras.Model(
            original.inputs, adapt(task, flat[index], size, probability)
        )
        for layer in all_layers(head):
            weights.setdefault(layer.name, layer.get_weights())
    return weights


def assign_weights(model, weights):
    """Set every weighted layer of `model` from `weights` (by layer name).

    Args:
        model: `keras.Model`. Built from the preset's config.
        weights: dict. Layer name -> list of arrays (`preset_weights`).

    Returns:
        int, the number of layers set.

    Raises:
        ValueError: naming a layer with no weights in `weights`.
    """
    copied = 0
    for layer in all_layers(model):
        if not layer.weights:
            continue
        if layer.name not in weights:
            raise ValueError(
                f"The converted graph has no weights for layer "
                f"{layer.name!r} of the preset (a graph of another model "
                f"or version?). Received: model={model.name!r}"
            )
        layer.set_weights(weights[layer.name])
        copied += 1
    return copied


def weights_digest(model):
    """sha256 of a model's weight values (layer name, shape, float32
    bytes, layers sorted by name): equal for equal weights whatever the
    file format writes around them."""
    digest = hashlib.sha256()
    layers = sorted(
        (layer for layer in all_layers(model) if layer.weights),
        key=lambda layer: layer.name,
    )
    for layer in layers:
        for value in layer.get_weights():
            value = np.ascontiguousarray(value, "<f4")
            digest.update(f"{layer.name}{value.shape}".encode())
            digest.update(value.tobytes())
    return digest.hexdigest()
