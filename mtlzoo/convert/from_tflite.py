"""`from_tflite`: a TFLite graph rebuilt as a Keras functional model."""

import re

import keras
import numpy as np

from mtlzoo.convert import tflite_ops
from mtlzoo.convert.record import conversion_record
from mtlzoo.convert.tflite_reader import read_tflite


def from_tflite(path, name=None, source=None):
    """Rebuild a TFLite model as a Keras 3 functional model.

    Every operator becomes a standard Keras layer (`Conv2D`,
    `DepthwiseConv2D`, `PReLU`, `Activation`, `Add`, `Multiply`,
    `Rescaling`, pools, `ZeroPadding2D`, `Resizing`, `Reshape`,
    `Concatenate`, `GlobalAveragePooling2D`, `Dense`, `Softmax`), holding the
    file's weights (fp16 weights are dequantised to float32), so the model
    saves as `.keras` and loads without custom objects. Layers are named
    after the TFLite tensors they compute (a unique, Keras-safe form of the
    name). Supported ops: `mtlzoo.convert.SUPPORTED_OPS` (the MediaPipe op
    set); any other raises a `ValueError` naming it.

    Needs the pure-Python package `tflite` (`pip install 'mtlzoo[convert]'`).

    Args:
        path: str or path. The `.tflite` file.
        name: str. The Keras model's name. Defaults to the file's stem.
        source: dict. Where the file comes from, for the conversion record:
            `package` (e.g. `"npm:@mediapipe/pose"`), `version`, `license`
            and optionally `file` (its path inside the package). Defaults
            to None (the record names only the file).

    Returns:
        A `keras.Model` with one input per TFLite input and one output per
        TFLite output, in the file's order. Its attribute
        `conversion_record` is a dict (see
        `mtlzoo.convert.conversion_record`) that also lists the op counts.

    Example:

    >>> model = mtlzoo.convert.from_tflite(
    ...     "pose_landmark_lite.tflite",
    ...     source={"package": "npm:@mediapipe/pose",
    ...             "version": "0.5.1675469404", "license": "Apache-2.0"})
    >>> model.save("pose_landmark_lite.keras")
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"`name` must be a str. Received: name={name!r}")
    keys = ("package", "version", "license", "file")
    if source is not None and (
        not isinstance(source, dict) or not set(source) <= set(keys)
    ):
        raise TypeError(
            f"`source` must be a dict with some of the keys {list(keys)}. "
            f"Received: source={source!r}"
        )
    graph = read_tflite(path)
    unsupported = sorted({op.type for op in graph.ops} - set(tflite_ops.OPS))
    if unsupported:
        raise ValueError(
            f"The TFLite graph uses ops that do not convert: {unsupported}. "
            f"Supported: {sorted(tflite_ops.OPS)}. Received: path={path!r}"
        )
    builder = _Builder(graph)
    inputs = []
    for index in graph.inputs:
        tensor = graph.tensors[index]
        x = keras.Input(
            tensor.shape[1:], name=builder.unique(_short_name(tensor.name))
        )
        builder.values[index] = x
        inputs.append(x)
    for op in graph.ops:
        out = tflite_ops.OPS[op.type](builder, op)
        if len(op.outputs) != 1:
            raise ValueError(
                f"Op {op.index} ({op.type}) has {len(op.outputs)} outputs; "
                f"converted ops have one. Received: path={path!r}"
            )
        builder.values[op.outputs[0]] = out
    outputs = []
    for index in graph.outputs:
        value = builder.values.get(index)
        if not isinstance(value, keras.KerasTensor):
            raise ValueError(
                f"Output {graph.tensors[index].name!r} is a constant, not "
                f"computed from the inputs. Received: path={path!r}"
            )
        outputs.append(value)
    stem = re.sub(r"\W", "_", _stem(path))
    model = keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=name or stem,
    )
    record = conversion_record(path, **(source or {}))
    record["ops"] = graph.op_counts()
    record["outputs"] = [graph.tensors[i].name for i in graph.outputs]
    object.__setattr__(model, "conversion_record", record)
    return model


def _stem(path):
    import os

    return os.path.splitext(os.path.basename(os.fspath(path)))[0]


def _short_name(name):
    """A short, Keras-safe layer name from a TFLite tensor name.

    TFLite joins the names of fused ops with `;`; the last one names the
    op that computed the tensor (`model_1/model/conv2d_3/Conv2D` ->
    `conv2d_3`).
    """
    last = name.split(";")[-1]
    parts = [p for p in last.split("/") if p]
    while len(parts) > 1 and re.fullmatch(r"model(_\d+)?", parts[0]):
        parts = parts[1:]
    if len(parts) > 1:
        parts = parts[:-1]
    short = re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(parts)).strip("_.")
    return short or "tensor"


class _Builder:
    """The state of a conversion: values per tensor, layer names."""

    def __init__(self, graph):
        self.graph = graph
        self.values = {}
        self.names = set()
        for tensor in graph.tensors:
            if tensor.data is not None:
                self.values[tensor.index] = tensor.data

    def tensor(self, index):
        return self.graph.tensors[index]

    def inputs(self, op, count):
        """The op's first `count` inputs (None for omitted optional
        ones); constants as numpy arrays, the rest as Keras tensors."""
        out = []
        for i in range(count):
            index = op.inputs[i] if i < len(op.inputs) else -1
            if index < 0:
                out.append(None)
                continue
            if index not in self.values:
                raise ValueError(
                    f"Op {op.index} ({op.type}) reads tensor "
                    f"{self.tensor(index).name!r}, which no earlier op "
                    "computes."
                )
            out.append(self.values[index])
        return out

    def unique(self, name):
        base, n = name, 1
        while name in self.names:
            name = f"{base}_{n}"
            n += 1
        self.names.add(name)
        return name

    def name(self, op, suffix=None):
        """A unique layer name for (a part of) an op."""
        name = _short_name(self.tensor(op.outputs[0]).name)
        return self.unique(f"{name}_{suffix}" if suffix else name)

    def apply(self, layer, x, weights):
        """Call `layer` on `x` and set its weights (float32)."""
        y = layer(x)
        layer.set_weights([np.asarray(w, "float32") for w in weights])
        return y
