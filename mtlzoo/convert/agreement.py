"""Agreement of a converted model with the runtime it was converted from."""

import time

import numpy as np


def differences(expected, got):
    """Max absolute and relative difference of two output arrays.

    The relative difference divides by the largest magnitude of `expected`
    (so values near 0 do not blow it up).

    Returns:
        dict with `max_abs` and `max_rel` (floats).
    """
    expected = np.asarray(expected, "float64")
    got = np.asarray(got, "float64").reshape(expected.shape)
    diff = float(np.max(np.abs(expected - got))) if expected.size else 0.0
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return {"max_abs": diff, "max_rel": diff / scale if scale else diff}


def differences_by_output(expected, got):
    """`differences` of each output, rounded to 3 significant digits (as
    preset cards record them).

    Args:
        expected: dict output name -> array (the original runtime's).
        got: dict output name -> array (the converted model's).

    Returns:
        dict output name -> `{"max_abs": ..., "max_rel": ...}`.
    """
    return {
        name: {
            k: float(f"{v:.3g}")
            for k, v in differences(expected[name], got[name]).items()
        }
        for name in expected
    }


def latency_ms(fn, images, repeats=3):
    """Median over `repeats` of the mean ms per image of `fn`, called on
    one image at a time (after one warm-up call).

    Args:
        fn: callable taking a batch `(1, ...)`.
        images: array `(N, ...)`.
        repeats: int. Defaults to 3.

    Returns:
        float, rounded to 3 significant digits.
    """
    import time

    fn(images[:1])
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for image in images:
            fn(image[None])
        runs.append(1000 * (time.perf_counter() - start) / len(images))
    return float(f"{np.median(runs):.3g}")


def run_tflite(path, images, num_threads=1):
    """Run a `.tflite` file with `tf.lite.Interpreter`, one image at a time.

    Args:
        path: str or path. The TFLite file (one image input).
        images: array `(N, H, W, C)` float32, already in the file's input
            convention.
        num_threads: int. Interpreter threads. Defaults to 1.

    Returns:
        `(outputs, seconds)`: a list (one per TFLite output, in the file's
        order) of arrays `(N, ...)`, and the mean seconds per image of the
        `invoke` calls.
    """
    interpreter = tflite_interpreter(
        model_path=str(path), num_threads=num_threads
    )
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    # In the subgraph's output order (the file's).
    details = interpreter.get_output_details()
    outputs = [[] for _ in details]
    seconds = 0.0
    for image in np.asarray(images, "float32"):
        interpreter.set_tensor(source["index"], image[None])
        start = time.perf_counter()
        interpreter.invoke()
        seconds += time.perf_counter() - start
        for slot, detail in enumerate(details):
            outputs[slot].append(interpreter.get_tensor(detail["index"])[0])
    return [np.stack(o) for o in outputs], seconds / max(len(images), 1)


def compare_with_tflite(model, path, images, num_threads=1):
    """Per-output agreement of a converted model with the TFLite runtime.

    Args:
        model: `keras.Model`. What `from_tflite(path)` returned.
        path: str or path. The TFLite file.
        images: array `(N, H, W, C)` in the file's input convention.
        num_threads: int. Threads of the interpreter. Defaults to 1.

    Returns:
        dict with `outputs` (one dict per output: `name`, `max_abs`,
        `max_rel`), `tflite_ms` and `keras_ms` (mean milliseconds per
        image; Keras runs one image per `predict_on_batch` call).
    """
    expected, tflite_seconds = run_tflite(path, images, num_threads)
    got, keras_seconds = run_keras(model, images)
    names = (
        model.conversion_record.get("outputs")
        if hasattr(model, "conversion_record")
        else None
    )
    names = names or [f"output_{i}" for i in range(len(expected))]
    return {
        "outputs": [
            {"name": n, **differences(e, g)}
            for n, e, g in zip(names, expected, got)
        ],
        "tflite_ms": 1000 * tflite_seconds,
        "keras_ms": 1000 * keras_seconds,
    }


def run_keras(model, images):
    """Outputs of `model` (a list, one per output) and mean seconds per
    image, one image per call (after one warm-up call)."""
    images = np.asarray(images, "float32")
    model.predict_on_batch(images[:1])
    seconds = 0.0
    outputs = []
    for image in images:
        start = time.perf_counter()
        out = model.predict_on_batch(image[None])
        seconds += time.perf_counter() - start
        if isinstance(out, dict):
            out = list(out.values())
        if not isinstance(out, (list, tuple)):
            out = [out]
        outputs.append([np.asarray(o)[0] for o in out])
    stacked = [np.stack(column) for column in zip(*outputs)]
    return stacked, seconds / max(len(images), 1)


def tflite_interpreter(**kwargs):
    """A TFLite interpreter: LiteRT's (`ai_edge_litert`) when installed,
    else `tf.lite.Interpreter` without its deprecation warning.

    Args:
        **kwargs: arguments of the interpreter (`model_path=` or
            `model_content=`, `num_threads=`).
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = None
    if Interpreter is not None:
        return Interpreter(**kwargs)
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(**kwargs)
