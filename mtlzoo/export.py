"""Export a multi-task model to SavedModel or TFLite, and check the result.

`export` writes the model and then runs the exported file next to the Keras
model on sample inputs, per task: classification top-1 agreement (and the
accuracy drop when labels are given), dense class agreement, max/mean
absolute error of every output, plus file size, size ratio to float32 and
batch-1 latency. The returned report maps outputs back to task names by
the signature's output names (TFLite reorders and renames its output
tensors; its signature keeps the Keras output-dict keys).

Quantized TFLite models keep **float32 inputs and outputs**: the image
goes in as raw pixels (0..255) as for the Keras model, and every task comes
out in its own units (probabilities, depth, unit normals). With `"int8"`
everything in between is int8 (full-integer kernels,
`TFLITE_BUILTINS_INT8`), with a quantize op at the input and a dequantize
op per output. Integer I/O would give each task its own scale and zero
point to undo on the device, for a few microseconds saved.
"""

import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from mtlzoo.quantization import INT8_MAX_ACCURACY_DROP  # noqa: F401
from mtlzoo.quantization import INT8_MIN_SIZE_RATIO  # noqa: F401
from mtlzoo.quantization import check_float_layers
from mtlzoo.quantization import convert_int8
from mtlzoo.quantization import int8_targets
from mtlzoo.tasks import get_kind
from mtlzoo.tasks import list_kinds

FORMATS = ("savedmodel", "tflite")
QUANTIZATIONS = (None, "float16", "int8")


def export(
    model,
    path,
    format="savedmodel",
    quantize=None,
    representative_data=None,
    sample_inputs=None,
    labels=None,
    calibration_samples=1000,
    max_check_samples=256,
    verbose=False,
    float_layers="auto",
):
    """Export a model for serving and check it against the Keras model.

    Args:
        model: a `mtlzoo.MultiTaskModel` (any Keras model works; its
            outputs are then compared without task kinds).
        path: str. A directory for `"savedmodel"`, a file for `"tflite"`.
        format: str. `"savedmodel"` (a Keras 3 `ExportArchive`, as
            `model.export` writes, in inference mode: a `serving_default`
            signature with input `image` and one output per task) or
            `"tflite"`. Defaults to `"savedmodel"`.
        quantize: None, `"float16"` (weights in float16, about 2x smaller)
            or `"int8"` (full-integer, about 4x smaller; needs
            `representative_data`). TFLite only; inputs and outputs stay
            float32. Defaults to None.
        representative_data: calibration images for int8: an array
            `(N, H, W, C)` of raw images, an `(images, labels)` tuple, a
            `tf.data.Dataset` of images or `(images, labels)` (batched or
            not), or a callable returning a generator of `[batch]` lists
            (TFLite's own form). Also the default check inputs.
        sample_inputs: inputs for the check, in the same forms; labels
            inside a tuple or dataset are used as `labels`. Defaults to
            `representative_data`, else 8 random images (agreement only).
        labels: optional dict task name -> labels of `sample_inputs`, for
            the accuracy drop of classification tasks.
        calibration_samples: int. Images used for int8 calibration (at
            most; as many as `representative_data` holds). Defaults to
            1000.
        max_check_samples: int. At most this many check inputs.
            Defaults to 256.
        verbose: bool. Print progress. Defaults to False.
        float_layers: for int8: `"auto"` (fully integer, unless that
            misses the accuracy target on the check labels: then the
            first two backbone stages stay in float32; see
            `mtlzoo.quantization`), None or `[]` (fully integer) or a list
            of layer names kept in float32. Defaults to `"auto"`.

    Returns:
        dict: `path`, `format`, `quantize`, `io_dtype`, `size_bytes`,
        `float32_size_bytes`, `size_ratio`, `latency_ms` (batch 1, median),
        `samples`, `inputs` (where the check inputs came from),
        `output_names` (signature output name -> task), `tasks` (task ->
        agreement numbers) and, for int8, `float_layers` (kept in
        float32), `float_tensors`, `float_fallback` (when `"auto"` kept
        the first stages in float: what the fully integer model missed) and
        `targets` (see `mtlzoo.quantization.int8_targets`:
        size ratio >= 3.0 for files of 1 MB and more, every accuracy drop
        <= 1 point; `missed` lists what is not met).

    Example:

    >>> report = mtlzoo.export.export(
    ...     model, "model.tflite", format="tflite", quantize="int8",
    ...     representative_data=images, sample_inputs=(images, labels))
    >>> report["size_ratio"], report["tasks"]["shape"]["top1_agreement"]
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a Keras model. "
            f"Received: model of type {type(model).__name__}"
        )
    if format not in FORMATS:
        raise ValueError(
            f"`format` must be one of {list(FORMATS)}. "
            f"Received: format={format!r}"
        )
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"`quantize` must be one of {list(QUANTIZATIONS)}. "
            f"Received: quantize={quantize!r}"
        )
    if quantize is not None and format != "tflite":
        raise ValueError(
            "Quantization applies to format='tflite' only. "
            f"Received: format={format!r}, quantize={quantize!r}"
        )
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"`path` must be a path. Received: path={path!r}")
    path = os.fspath(path)
    if format == "tflite" and os.path.isdir(path):
        raise ValueError(
            "A TFLite model is one file; `path` is a directory. "
            f"Received: path={path!r}"
        )
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "int8 quantization needs `representative_data` (calibration "
            "images). Received: representative_data=None"
        )
    input_shape = tuple(model.inputs[0].shape[1:])
    calib, calib_labels = None, None
    if representative_data is not None:
        calib, calib_labels = as_arrays(
            representative_data, input_shape, "representative_data"
        )
    source = "sample_inputs"
    if sample_inputs is not None:
        x, given = as_arrays(sample_inputs, input_shape, "sample_inputs")
    elif calib is not None:
        x, given, source = calib, calib_labels, "representative_data"
    else:
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (8,) + input_shape).astype("float32")
        given, source = None, "random"
    labels = labels if labels is not None else given
    x = x[:max_check_samples]
    if labels is not None:
        labels = {k: np.asarray(v)[: len(x)] for k, v in labels.items()}

    if format == "savedmodel" and os.path.isfile(path):
        raise ValueError(
            "A SavedModel is a directory; `path` is a file. "
            f"Received: path={path!r}"
        )
    check_writable(path)
    auto = isinstance(float_layers, str) and float_layers == "auto"
    float_names = [] if auto else check_float_layers(float_layers, model)
    _log(verbose, f"Exporting SavedModel ({model.name})")
    with tempfile.TemporaryDirectory() as tmp:
        if format == "savedmodel":
            write_saved_model(model, path)
            content, runner = None, _saved_model_runner(path)
            size = float32_size = _size(path)
            float_ops = []
        else:
            saved = os.path.join(tmp, "saved_model")
            write_saved_model(model, saved)
            _log(verbose, f"Converting to TFLite ({quantize or 'float32'})")
            content, float_ops = _convert(
                saved, quantize, calib, calibration_samples, float_names
            )
            float32_size = len(content)
            if quantize is not None:
                _log(verbose, "Converting a float32 TFLite for the size ratio")
                float32_size = len(convert(saved, None))
            runner = _tflite_runner(content)
        _log(verbose, f"Checking outputs on {len(x)} {source} images")
        expected = _as_dict(model.predict(x, batch_size=32, verbose=0))
        check = (x, expected, labels)
        mapping, tasks = _check(model, runner, *check)
        fallback = None
        if quantize == "int8" and auto:
            # Fully integer first; the first stages in float32 only when
            # that misses the accuracy target.
            retry = _early_stage_fallback(
                model, saved, calib, calibration_samples, tasks, check, verbose
            )
            if retry is not None:
                fallback, content, float_ops, runner, tasks = retry
                float_names = fallback["float_layers"]
    if content is not None:
        size = len(content)
        try:
            with open(path, "wb") as f:
                f.write(content)
        except OSError as error:
            raise _not_writable(path, error) from None
    report = {
        "path": path,
        "format": format,
        "quantize": quantize,
        "io_dtype": "float32",
        "size_bytes": int(size),
        "float32_size_bytes": int(float32_size),
        "size_ratio": float(float32_size) / float(size),
        "latency_ms": _latency(runner, x[:1]),
        "samples": int(len(x)),
        "inputs": source,
        "output_names": mapping,
        "tasks": tasks,
    }
    if quantize == "int8":
        report["float_layers"] = float_names
        report["float_tensors"] = len(float_ops)
        if fallback:
            report["float_fallback"] = fallback
        report["targets"] = int8_targets(report)
    return report


def _early_stage_fallback(model, saved, calib, samples, tasks, check, log):
    """The int8 export with the first stages in float32, when the fully
    integer one (whose check gave `tasks`) misses an accuracy target and
    this does better; else None.

    Returns:
        `(fallback, content, float_ops, runner, tasks)`.
    """
    missed = _accuracy_missed(tasks)
    first = check_float_layers("auto", model)
    if not missed or not first:
        return None
    _log(log, f"{'; '.join(missed)}: keeping {first} in float32")
    content, float_ops = _convert(saved, "int8", calib, samples, first)
    runner = _tflite_runner(content)
    _, retry = _check(model, runner, *check)
    if _worst_drop(retry) >= _worst_drop(tasks):
        return None
    fallback = {"fully_integer_missed": missed, "float_layers": first}
    return fallback, content, float_ops, runner, retry


def _worst_drop(tasks):
    drops = [t["accuracy_drop"] for t in tasks.values() if "accuracy_drop" in t]
    return max(drops, default=0.0)


def _check(model, runner, x, expected, labels):
    """`(signature name -> task, task -> compare numbers)` of a runner."""
    got, sig_names = runner(x)
    mapping = _map_outputs(sig_names, list(expected))
    got = {mapping[k]: v for k, v in got.items()}
    by_name = {t.name: t for t in getattr(model, "tasks", [])}
    tasks = {
        name: compare(
            by_name.get(name),
            expected[name],
            got[name],
            None if labels is None else labels.get(name),
        )
        for name in expected
    }
    return mapping, tasks


def _accuracy_missed(tasks):
    """The `int8_targets` lines of the accuracy drops that miss."""
    report = {"float32_size_bytes": 0, "size_ratio": 0.0, "tasks": tasks}
    return int8_targets(report)["missed"]


def check_writable(path):
    """Raise a clear error now if the export cannot be written at `path`.

    Creates the parent directory when missing and writes (then removes) a
    scratch file in it, so a bad `path` fails in a second, before the
    conversion, with the reason: a parent that is a file, a read-only or
    missing location, no permission.

    Args:
        path: str. The export's file or directory.

    Raises:
        ValueError: `path` cannot be written, saying why and ending
            `Received: path=...`.
    """
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise _not_writable(path, error) from None


def _not_writable(path, error):
    """The ValueError for an `OSError` (or TensorFlow write error)."""
    reason = getattr(error, "strerror", None) or getattr(error, "message", "")
    reason = " ".join(str(reason or type(error).__name__).split())
    filename = getattr(error, "filename", None)
    where = f": {filename}" if filename else ""
    return ValueError(
        f"Cannot write the export there ({reason}{where}). "
        f"Received: path={path!r}"
    )


def write_saved_model(model, path):
    """Write a SavedModel whose `serve` endpoint runs in inference mode.

    A Keras 3 `ExportArchive` (what `model.export` uses), with the
    endpoint calling `model(x, training=False)`. `model.export(path)` calls
    the model with `training=None`, and Keras then lets a layer's own
    `training=True` default (e.g. `keras.layers.Resizing`, used by the
    dense heads) switch every later BatchNormalization to batch statistics.

    Args:
        model: a Keras model with one input.
        path: str. Output directory (replaced if it exists).

    Returns:
        str, the path.
    """
    if len(model.inputs) != 1:
        raise ValueError(
            "Export supports models with one input. "
            f"Received: inputs={[t.name for t in model.inputs]}"
        )
    spec = model.inputs[0]
    signature = [
        tf.TensorSpec((None,) + tuple(spec.shape[1:]), spec.dtype, name="image")
    ]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda image: model(image, training=False),
        input_signature=signature,
    )
    if os.path.isdir(path):
        shutil.rmtree(path)
    try:
        archive.write_out(path, verbose=False)
    except (OSError, tf.errors.OpError) as error:
        raise _not_writable(path, error) from None
    return path


def convert(
    saved_model_dir, quantize=None, images=None, samples=1000, float_layers=()
):
    """TFLite flatbuffer bytes of a SavedModel (`tf.lite.TFLiteConverter`).

    Args:
        saved_model_dir: str. A SavedModel with a `serving_default`
            signature.
        quantize: None, `"float16"` or `"int8"` (integer kernels with
            float32 inputs and outputs; needs `images`).
        images: array `(N, H, W, C)` of calibration images for int8.
        samples: int. Calibration images used. Defaults to 1000.
        float_layers: list of layer names kept in float32 under int8 (see
            `mtlzoo.quantization.convert_int8`). Defaults to none.

    Returns:
        bytes.
    """
    return _convert(saved_model_dir, quantize, images, samples, float_layers)[0]


def _convert(saved_model_dir, quantize, images, samples, float_layers=()):
    """`convert`, and the names of the tensors kept in float32."""
    try:
        if quantize == "int8":
            return convert_int8(saved_model_dir, images, samples, float_layers)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert(), []
    except ValueError:
        raise
    except Exception as error:  # the converter raises ConverterError
        first = str(error).strip().splitlines()[0] if str(error) else ""
        raise RuntimeError(
            f"TFLite conversion failed ({type(error).__name__}: {first}). "
            "An op without an int8 kernel needs quantize='float16'. "
            f"Received: quantize={quantize!r}"
        ) from error


def compare(kind, expected, got, labels=None):
    """Agreement numbers of one output: exported vs Keras (and vs labels).

    Args:
        kind: a `mtlzoo.Task`, a task kind class or name, or None (compare
            values only). The kind adds its own numbers
            (`Task.check_export`).
        expected: array. Keras outputs.
        got: array. Exported-model outputs, same shape.
        labels: optional array of the task's labels.

    Returns:
        dict with `max_abs_error` and `mean_abs_error`, plus
        `top1_agreement` (classification, box class), `class_agreement`
        (segmentation, per pixel), `label_agreement` (multilabel at 0.5)
        and, with labels, `accuracy_keras`, `accuracy_export` and
        `accuracy_drop` (points, for classification and segmentation
        pixel accuracy) or `label_error_keras` / `label_error_export` (mean
        absolute error, or mean angle in degrees for normals).
    """
    expected = np.asarray(expected, dtype="float64")
    got = np.asarray(got, dtype="float64").reshape(expected.shape)
    diff = np.abs(expected - got)
    out = {
        "max_abs_error": float(diff.max()) if diff.size else 0.0,
        "mean_abs_error": float(diff.mean()) if diff.size else 0.0,
    }
    if isinstance(kind, str):
        kind = get_kind(kind) if kind in list_kinds() else None
    if kind is not None:
        out.update(kind.check_export(expected, got, labels))
    return out


def as_arrays(data, input_shape, name="data", limit=4096):
    """Images (and labels, if any) from an array, tuple or dataset.

    Args:
        data: array `(N, H, W, C)`, `(images, labels)` tuple, a
            `tf.data.Dataset` of images or `(images, labels[, weights])`,
            batched or not, or a callable returning a generator of
            `[batch]` lists.
        input_shape: tuple. The model's per-sample input shape.
        name: str. Argument name for error messages.
        limit: int. Stop reading a dataset after this many images.

    Returns:
        `(images, labels)`: a float32 array and a dict or None.
    """
    labels = None
    if isinstance(data, tf.data.Dataset):
        xs, ys = [], []
        count = 0
        for element in data:
            if isinstance(element, (tuple, list)):
                x = np.asarray(element[0])
                y = element[1] if len(element) > 1 else None
            else:
                x, y = np.asarray(element), None
            batched = x.ndim == len(input_shape) + 1
            if not batched:
                x = x[None]
                y = (
                    None
                    if y is None
                    else tf.nest.map_structure(lambda t: np.asarray(t)[None], y)
                )
            xs.append(x)
            if isinstance(y, dict):
                ys.append({k: np.asarray(v) for k, v in y.items()})
            count += len(x)
            if count >= limit:
                break
        if not xs:
            raise ValueError(f"`{name}` is an empty dataset. Received: {name}")
        images = np.concatenate(xs)
        if ys and len(ys) == len(xs):
            labels = {k: np.concatenate([y[k] for y in ys]) for k in ys[0]}
    elif callable(data):
        batches = [
            np.asarray(b[0] if isinstance(b, (list, tuple)) else b)
            for b in data()
        ]
        if not batches:
            raise ValueError(f"`{name}` yielded nothing. Received: {name}")
        images = np.concatenate(batches)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images = np.asarray(data[0])
        if data[1] is not None:
            if not isinstance(data[1], dict):
                raise ValueError(
                    f"The labels in `{name}` must be a dict task name -> "
                    f"labels. Received: labels of type "
                    f"{type(data[1]).__name__}"
                )
            labels = {k: np.asarray(v) for k, v in data[1].items()}
    else:
        images = np.asarray(data)
    images = np.asarray(images, dtype="float32")
    if images.ndim != len(input_shape) + 1 or tuple(images.shape[1:]) != tuple(
        input_shape
    ):
        raise ValueError(
            f"`{name}` must hold images of shape (N, *{tuple(input_shape)}). "
            f"Received: {name}.shape={images.shape}"
        )
    return images, labels


# ----------------------------------------------------------------------
def _log(verbose, message):
    if verbose:
        print(message, flush=True)


def _as_dict(outputs):
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": np.asarray(v) for i, v in enumerate(outputs)}
    return {"output_0": np.asarray(outputs)}


def _map_outputs(signature_names, task_names):
    """Signature output name -> task name; raises when they differ."""
    if set(signature_names) == set(task_names):
        return {n: n for n in sorted(signature_names)}
    if len(signature_names) == len(task_names) == 1:
        return {signature_names[0]: task_names[0]}
    raise RuntimeError(
        "The exported signature's outputs do not match the model's outputs "
        f"{sorted(task_names)}. Received: signature outputs="
        f"{sorted(signature_names)}"
    )


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _saved_model_runner(path):
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["serving_default"]
    (input_name,) = signature.structured_input_signature[1]
    names = list(signature.structured_outputs)

    def run(x):
        outs = {n: [] for n in names}
        for start in range(0, len(x), 32):
            batch = tf.constant(x[start : start + 32])
            result = signature(**{input_name: batch})
            for n in names:
                outs[n].append(result[n].numpy())
        return {n: np.concatenate(v) for n, v in outs.items()}, names

    return run


def interpreter(content):
    """A TFLite interpreter for flatbuffer bytes (LiteRT when installed)."""
    from mtlzoo.convert.agreement import tflite_interpreter

    return tflite_interpreter(model_content=content)


def _tflite_runner(content):
    interp = interpreter(content)
    signatures = interp.get_signature_list()
    key = "serving_default" if "serving_default" in signatures else None
    key = key or next(iter(signatures))
    (input_name,) = signatures[key]["inputs"]
    names = list(signatures[key]["outputs"])
    runner = interp.get_signature_runner(key)

    def run(x):
        outs = {n: [] for n in names}
        for start in range(0, len(x), 32):
            result = runner(**{input_name: x[start : start + 32]})
            for n in names:
                outs[n].append(np.array(result[n]))
        return {n: np.concatenate(v) for n, v in outs.items()}, names

    return run


def _latency(runner, x, repeats=10):
    runner(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner(x)
        times.append(time.perf_counter() - start)
    return float(1000.0 * np.median(times))
