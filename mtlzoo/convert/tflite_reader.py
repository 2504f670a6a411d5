"""Read a TFLite flatbuffer into plain Python: tensors, constants, ops.

Uses the PyPI package `tflite` (pure Python flatbuffer accessors), imported
when a file is read, so `import mtlzoo` does not need it.
"""

import inspect

import numpy as np

_DTYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    10: "float64",
}


def import_tflite():
    """The `tflite` package, or an ImportError saying how to install it."""
    try:
        import tflite
    except ImportError as error:
        raise ImportError(
            "Reading .tflite files needs the package `tflite` (pure "
            "Python): pip install tflite, or pip install 'mtlzoo[convert]'."
        ) from error
    return tflite


class TfliteTensor:
    """One tensor of the graph.

    Attributes:
        index: int. Its index in the subgraph.
        name: str. Its name in the file.
        shape: tuple of int. Static shape (batch included).
        dtype: str. numpy dtype name.
        data: numpy array or None. The constant value, for weights.
        scale, zero_point: numpy arrays or None. Quantisation parameters.
    """

    def __init__(self, index, name, shape, dtype, data, scale, zero_point):
        self.index = index
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.data = data
        self.scale = scale
        self.zero_point = zero_point

    def __repr__(self):
        kind = "const" if self.data is not None else "tensor"
        shape, dtype = self.shape, self.dtype
        return f"TfliteTensor({self.name!r}, {shape}, {dtype}, {kind})"


class TfliteOp:
    """One operator: its builtin name, input/output tensor indices (-1 for
    an omitted optional input) and its options as a dict."""

    def __init__(self, index, op_type, inputs, outputs, options):
        self.index = index
        self.type = op_type
        self.inputs = inputs
        self.outputs = outputs
        self.options = options

    def __repr__(self):
        return f"TfliteOp({self.index}, {self.type}, {self.options})"


class TfliteGraph:
    """The first subgraph of a TFLite model.

    Attributes:
        tensors: list of `TfliteTensor`.
        ops: list of `TfliteOp`, in execution order.
        inputs, outputs: lists of tensor indices.
        version: int. Schema version of the file.
        description: str. The model's description string.
    """

    def __init__(self, tensors, ops, inputs, outputs, version, description):
        self.tensors = tensors
        self.ops = ops
        self.inputs = inputs
        self.outputs = outputs
        self.version = version
        self.description = description

    def op_counts(self):
        """Builtin op name -> how many times the graph uses it."""
        counts = {}
        for op in self.ops:
            counts[op.type] = counts.get(op.type, 0) + 1
        return dict(sorted(counts.items()))


def read_tflite(path):
    """Parse a `.tflite` file.

    Args:
        path: str or path. The flatbuffer file.

    Returns:
        A `TfliteGraph` of the file's first subgraph.
    """
    import os

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"`path` must be a file path (str). Received: path={path!r}"
        )
    if not os.path.isfile(path):
        raise ValueError(
            "No such .tflite file (or it is a directory). "
            f"Received: path={os.fspath(path)!r}"
        )
    tflite = import_tflite()
    with open(path, "rb") as f:
        buf = f.read()
    try:
        return _parse(tflite, buf, path)
    except ValueError:
        raise
    except Exception as error:
        # The flatbuffer accessors fail with struct or index errors on
        # files that are not (whole) TFLite models.
        raise ValueError(
            "Not a readable TFLite model (truncated, or another kind of "
            f"file: {type(error).__name__}). "
            f"Received: path={os.fspath(path)!r} ({len(buf)} bytes)"
        ) from None


def _parse(tflite, buf, path):
    """`read_tflite` of the file's bytes."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError(
            "Not a TFLite model: the file lacks the 'TFL3' identifier. "
            f"Received: path={str(path)!r}"
        )
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() < 1:
        raise ValueError(f"The TFLite file has no subgraph. Received: {path}")
    graph = model.Subgraphs(0)
    names = tflite.utils.BUILTIN_OPCODE2NAME
    option_names = {
        v: k
        for k, v in vars(tflite.BuiltinOptions).items()
        if not k.startswith("_") and isinstance(v, int)
    }
    tensors = [
        _tensor(model, graph.Tensors(i), i)
        for i in range(graph.TensorsLength())
    ]
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            op_type = "CUSTOM:" + code.CustomCode().decode()
        else:
            op_type = names.get(builtin, str(builtin))
        options = _options(tflite, op, option_names)
        ops.append(
            TfliteOp(
                i,
                op_type,
                [int(x) for x in op.InputsAsNumpy()],
                [int(x) for x in op.OutputsAsNumpy()],
                options,
            )
        )
    description = model.Description()
    return TfliteGraph(
        tensors,
        ops,
        [int(x) for x in graph.InputsAsNumpy()],
        [int(x) for x in graph.OutputsAsNumpy()],
        int(model.Version()),
        description.decode() if description else "",
    )


def _tensor(model, tensor, index):
    dtype = _DTYPES.get(tensor.Type())
    shape = (
        tuple(int(d) for d in tensor.ShapeAsNumpy())
        if (tensor.ShapeLength())
        else ()
    )
    data = None
    buffer = model.Buffers(tensor.Buffer())
    if buffer is not None and buffer.DataLength() and dtype is not None:
        raw = buffer.DataAsNumpy().tobytes()
        data = np.frombuffer(raw, dtype=dtype).reshape(shape)
    scale = zero_point = None
    quant = tensor.Quantization()
    if quant is not None and quant.ScaleLength():
        scale = quant.ScaleAsNumpy().astype("float32")
        zero_point = quant.ZeroPointAsNumpy().astype("int64")
    return TfliteTensor(
        index, tensor.Name().decode(), shape, dtype, data, scale, zero_point
    )


def _options(tflite, op, option_names):
    """The op's builtin options as a dict of their fields."""
    kind = op.BuiltinOptionsType()
    table = op.BuiltinOptions()
    if not kind or table is None or kind not in option_names:
        return {}
    cls = getattr(tflite, option_names[kind])
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for name, method in inspect.getmembers(obj, inspect.ismethod):
        if not name[:1].isupper() or name in ("Init",):
            continue
        if (
            name.startswith("GetRootAs")
            or name.endswith(("Length", "IsNone", "AsNumpy"))
            or "BufferHasIdentifier" in name
        ):
            continue
        if hasattr(obj, name + "AsNumpy"):
            value = getattr(obj, name + "AsNumpy")()
            out[name] = [] if isinstance(value, int) else value.tolist()
            continue
        try:
            out[name] = method()
        except TypeError:
            continue
    return out
