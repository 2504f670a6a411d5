"""Converters: pretrained models of other runtimes as plain Keras models.

`from_tflite(path)` rebuilds a TFLite flatbuffer graph (the op set of the
MediaPipe models: `SUPPORTED_OPS`) as a Keras 3 functional model of
standard layers, which saves as `.keras` without custom objects;
`conversion_record` says where the source came from (package, version,
file, sha256, licence); `compare_with_tflite` measures the agreement with
`tf.lite.Interpreter` per output; `split_model` cuts a converted graph
into a trunk of feature levels, shared blocks and heads.

Reading `.tflite` files needs the pure-Python package `tflite`
(`pip install 'mtlzoo[convert]'`), imported only when a file is read.
"""

from mtlzoo.convert.agreement import compare_with_tflite
from mtlzoo.convert.agreement import differences
from mtlzoo.convert.agreement import differences_by_output
from mtlzoo.convert.agreement import latency_ms
from mtlzoo.convert.agreement import run_tflite
from mtlzoo.convert.from_tflite import from_tflite
from mtlzoo.convert.record import conversion_record
from mtlzoo.convert.split import SplitGraph
from mtlzoo.convert.split import split_model
from mtlzoo.convert.tflite_ops import OPS as _OPS
from mtlzoo.convert.tflite_reader import read_tflite

SUPPORTED_OPS = tuple(sorted(_OPS))

__all__ = [
    "SUPPORTED_OPS",
    "SplitGraph",
    "compare_with_tflite",
    "conversion_record",
    "differences",
    "differences_by_output",
    "from_tflite",
    "latency_ms",
    "read_tflite",
    "run_tflite",
    "split_model",
]
