"""int8 TFLite conversion: calibration, float fallback, targets.

Full-integer int8 adds rounding noise at every layer. On the presets, the
noise of the first, high-resolution stages counts most: with every layer in
int8, `fashion_mobilenetv2_multitask` loses 1.4-1.6 points of garment
accuracy (1000 test images); with its first stage (`P1`) kept in float32 it
loses 0.9, with its first two (`P1`, `P2`: 0.7 % of the weights) 0.0, for
a file 3 % larger. The other presets lose at most 0.3 points fully
integer, where float stages only make the file bigger (3.5x instead of
3.8x smaller). So `export(..., quantize="int8")` (`float_layers="auto"`)
converts fully integer, checks the accuracy drop on the check labels, and
converts again with the first two stages in float32 only when a task
misses the target. Pass `float_layers=[]` for a fully integer model (e.g.
for an int8-only accelerator), or the names of the layers to keep in
float.

The float fallback uses TensorFlow's selective quantization
(`tf.lite.experimental.QuantizationDebugger` with `denylisted_nodes`).
"""

import re

import numpy as np
import tensorflow as tf

# Targets of an int8 TFLite export (reported in `targets`; `mtlzoo export
# --fail-on-miss` exits 1 when one is missed). int8 stores a weight in 1
# byte instead of 4, plus per-channel scales, int32 biases and the graph:
# the presets' files of 1.8 to 12 MB come out 3.4x to 3.8x smaller. Below
# 1 MB of float32 file the graph dominates and the size ratio is not a
# target.
INT8_MIN_SIZE_RATIO = 3.0
INT8_SIZE_RATIO_FROM_BYTES = 1_000_000
INT8_MAX_ACCURACY_DROP = 1.0

_SUFFIX = re.compile(r"_\d+$")


def early_stage_layers(model, count=2):
    """Names of the model's layers of its first `count` levels (`"auto"`).

    The backbone stages of a `MultiTaskModel` are sub-models named
    `<backbone or branch>_<level>` (`mobilenet_v2_P1`); this returns those
    of `model.levels[:count]`, or `[]` for a model without levels.
    """
    levels = getattr(model, "levels", None) or []
    suffixes = tuple(f"_{level}" for level in levels[:count])
    if not suffixes:
        return []
    return [
        layer.name for layer in model.layers if layer.name.endswith(suffixes)
    ]


def check_float_layers(float_layers, model):
    """The list of layer names `float_layers` stands for.

    Args:
        float_layers: `"auto"` (the first two stages, see
            `early_stage_layers`),
            None or `[]` (none) or a list of layer names.
        model: the model being exported.

    Returns:
        list of str.
    """
    if float_layers == "auto":
        return early_stage_layers(model)
    if float_layers is None:
        return []
    if isinstance(float_layers, str) or not all(
        isinstance(n, str) and n for n in float_layers
    ):
        raise ValueError(
            "`float_layers` must be 'auto', None or a list of layer names. "
            f"Received: float_layers={float_layers!r}"
        )
    return list(float_layers)


def int8_converter(saved_model_dir, images, samples):
    """A `TFLiteConverter` set for int8 with `samples` calibration images
    (one image per calibration step, as TFLite's examples)."""
    if images is None or len(images) == 0:
        raise ValueError(
            "int8 quantization needs calibration images. "
            f"Received: images={images!r}"
        )
    calib = np.asarray(images[:samples], dtype="float32")

    def representative():
        for i in range(len(calib)):
            yield [calib[i : i + 1]]

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    return converter, representative


def convert_int8(saved_model_dir, images, samples, float_layers=()):
    """int8 TFLite bytes, with the ops of `float_layers` kept in float32.

    Args:
        saved_model_dir: str. The SavedModel.
        images: array of calibration images.
        samples: int. Calibration images used.
        float_layers: list of layer names. An op stays in float32 when a
            part of its output tensor's name (the names TFLite keeps are
            Keras layer paths, `model/mobilenet_v2_P1/Conv1/...`) is one
            of them. Defaults to none: a fully integer model.

    Returns:
        `(content, float_ops)`: the flatbuffer bytes and the names of the
        ops kept in float32.
    """
    converter, representative = int8_converter(saved_model_dir, images, samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    content = converter.convert()
    if not float_layers:
        return content, []
    nodes = matching_ops(content, float_layers)
    if not nodes:
        return content, []
    converter, representative = int8_converter(saved_model_dir, images, samples)
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=nodes
    )
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=representative,
        debug_options=options,
    )
    return debugger.get_nondebug_quantized_model(), nodes


def matching_ops(content, layer_names):
    """Names of the tensors of `content` inside `layer_names` (the
    selective quantizer keeps the ops writing them in float32)."""
    from mtlzoo.convert.agreement import tflite_interpreter

    wanted = set(layer_names)
    found = []
    interpreter = tflite_interpreter(model_content=content)
    for tensor in interpreter.get_tensor_details():
        parts = re.split(r"[/;]", tensor["name"])
        if any(_SUFFIX.sub("", p) in wanted for p in parts):
            found.append(tensor["name"])
    return found


def int8_targets(report):
    """Whether an int8 export meets its size and accuracy targets.

    Args:
        report: dict. An `export` report (`size_ratio`,
            `float32_size_bytes`, `tasks`).

    Returns:
        dict: `size_ratio_min`, `size_ratio_met` (None below 1 MB of
        float32 file, where the graph, not the weights, sets the size),
        `accuracy_drop_max` (points), `accuracy_drop_met` (None without
        labels), `met` (no target missed) and `missed`: one line per
        missed target, e.g. `"garment: accuracy drop 1.56 > 1.0 points"`.
    """
    missed = []
    size_met = None
    if report["float32_size_bytes"] >= INT8_SIZE_RATIO_FROM_BYTES:
        size_met = report["size_ratio"] >= INT8_MIN_SIZE_RATIO
        if not size_met:
            missed.append(
                f"size ratio {report['size_ratio']:.2f}x < "
                f"{INT8_MIN_SIZE_RATIO}x"
            )
    drops = {
        task: numbers["accuracy_drop"]
        for task, numbers in report["tasks"].items()
        if "accuracy_drop" in numbers
    }
    for task, drop in drops.items():
        if drop > INT8_MAX_ACCURACY_DROP:
            missed.append(
                f"{task}: accuracy drop {drop:.2f} > "
                f"{INT8_MAX_ACCURACY_DROP} points"
            )
    accuracy_met = None
    if drops:
        accuracy_met = all(d <= INT8_MAX_ACCURACY_DROP for d in drops.values())
    return {
        "size_ratio_min": INT8_MIN_SIZE_RATIO,
        "size_ratio_met": size_met,
        "accuracy_drop_max": INT8_MAX_ACCURACY_DROP,
        "accuracy_drop_met": accuracy_met,
        "met": not missed,
        "missed": missed,
    }
