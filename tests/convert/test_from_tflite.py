"""`mtlzoo.convert.from_tflite` on small TFLite files made here."""

import json
import os

import keras
import numpy as np
import pytest

from mtlzoo import convert

pytest.importorskip("tflite")


def _op_zoo(seed=0):
    """A small Keras model whose TFLite graph uses most supported ops."""
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input((16, 16, 3), batch_size=1, name="image")
    x = layers.ZeroPadding2D(1)(inputs)
    x = layers.Conv2D(8, 3, strides=2, activation="relu6")(x)
    x = layers.PReLU(shared_axes=[1, 2])(x)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Add()([x, y])
    x = layers.Activation("hard_swish")(x)
    x = layers.Rescaling(0.5, 0.25)(x)
    z = layers.MaxPooling2D(2)(x)
    z = layers.AveragePooling2D(2, strides=1, padding="same")(z)
    z = layers.Resizing(8, 8, interpolation="bilinear")(z)
    x = layers.Concatenate()([x, z])
    x = layers.Multiply()([x, layers.Activation("sigmoid")(x)])
    heat = layers.Conv2D(2, 1, name="heat")(x)
    pooled = layers.GlobalAveragePooling2D()(x)
    vector = layers.Dense(6, activation="tanh")(pooled)
    vector = layers.Reshape((3, 2))(vector)
    vector = layers.Reshape((6,))(vector)
    score = layers.Dense(3, activation="softmax")(pooled)
    return keras.Model(inputs, [heat, vector, score])


@pytest.fixture(scope="module")
def tflite_files(tmp_path_factory):
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("tflite")
    model = _op_zoo()
    out = {"model": model}
    for kind in ("float32", "float16"):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if kind == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        path = folder / f"op_zoo_{kind}.tflite"
        path.write_bytes(converter.convert())
        out[kind] = path
    return out


def _images(n=3, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (n, 16, 16, 3))


@pytest.mark.parametrize("kind", ["float32", "float16"])
def test_rebuilt_graph_matches_the_interpreter(tflite_files, kind):
    path = tflite_files[kind]
    model = convert.from_tflite(path)
    report = convert.compare_with_tflite(model, path, _images())
    assert len(report["outputs"]) == 3
    for output in report["outputs"]:
        assert output["max_rel"] < 1e-4, output
    record = model.conversion_record
    if kind == "float16":
        assert record["ops"]["DEQUANTIZE"] > 0
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "PAD"} <= set(
        record["ops"]
    )


def test_matches_the_source_keras_model(tflite_files):
    model = convert.from_tflite(tflite_files["float32"])
    source = tflite_files["model"]
    x = _images().astype("float32")
    expected = source.predict(x, verbose=0)
    got = model.predict(x, verbose=0)
    # TFLite may order the outputs differently: match them by shape.
    for e in expected:
        match = [g for g in got if g.shape == e.shape]
        assert any(np.allclose(e, g, atol=1e-4) for g in match)


def test_standard_layers_only_and_keras_round_trip(tflite_files, tmp_path):
    model = convert.from_tflite(tflite_files["float16"], name="op_zoo")
    assert model.name == "op_zoo"
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names)
    for layer in model.layers:
        assert type(layer).__module__.startswith("keras."), layer
        assert "/" not in layer.name and ";" not in layer.name
    path = tmp_path / "op_zoo.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    x = _images(1).astype("float32")
    for a, b in zip(model.predict(x, verbose=0), again.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_conversion_record(tflite_files):
    path = tflite_files["float32"]
    model = convert.from_tflite(
        path,
        source={
            "package": "pypi:example",
            "version": "1.0",
            "license": "MIT",
            "file": "data/op_zoo.tflite",
        },
    )
    record = model.conversion_record
    assert record["package"] == "pypi:example"
    assert record["version"] == "1.0"
    assert record["license"] == "MIT"
    assert record["file"] == "data/op_zoo.tflite"
    assert record["size_bytes"] == os.path.getsize(path)
    assert len(record["sha256"]) == 64
    assert len(record["outputs"]) == 3
    json.dumps(record)


def test_channel_padding_converts(tmp_path):
    import tensorflow as tf

    inputs = keras.Input((4, 4, 3), batch_size=1)
    padded = keras.layers.Lambda(
        lambda t: tf.pad(t, [[0, 0], [1, 0], [0, 1], [0, 5]])
    )(inputs)
    source = keras.Model(inputs, padded)
    path = tmp_path / "pad.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(source).convert())
    model = convert.from_tflite(path)
    x = _images(2, seed=3)[:, :4, :4].astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), source(x))
    assert model.output.shape[1:] == (5, 5, 8)


def test_unsupported_op_is_named(tmp_path):
    import tensorflow as tf

    inputs = keras.Input((4, 4, 3), batch_size=1)
    out = keras.layers.Lambda(lambda t: tf.math.exp(t))(inputs)
    path = tmp_path / "exp.tflite"
    path.write_bytes(
        tf.lite.TFLiteConverter.from_keras_model(
            keras.Model(inputs, out)
        ).convert()
    )
    with pytest.raises(ValueError, match="EXP") as info:
        convert.from_tflite(path)
    assert "Received: path=" in str(info.value)


def test_supported_ops_cover_the_mediapipe_set():
    mediapipe = {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "PRELU",
        "RELU",
        "RELU6",
        "LOGISTIC",
        "HARD_SWISH",
        "ADD",
        "MUL",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "PAD",
        "RESIZE_BILINEAR",
        "RESHAPE",
        "CONCATENATION",
        "MEAN",
        "FULLY_CONNECTED",
        "DEQUANTIZE",
    }
    assert mediapipe <= set(convert.SUPPORTED_OPS)


def test_differences():
    out = convert.differences(np.array([2.0, -4.0]), np.array([2.5, -4.0]))
    assert out == {"max_abs": 0.5, "max_rel": 0.125}


def test_differences_by_output_and_latency():
    expected = {"a": np.array([2.0, -4.0]), "b": np.array([3.0])}
    got = {"a": np.array([2.5, -4.0]), "b": np.array([3.0001234])}
    out = convert.differences_by_output(expected, got)
    assert out["a"] == {"max_abs": 0.5, "max_rel": 0.125}
    assert out["b"] == {"max_abs": 0.000123, "max_rel": 4.11e-05}
    calls = []
    ms = convert.latency_ms(lambda x: calls.append(x.shape), np.zeros((4, 2)))
    assert ms >= 0.0
    assert calls == [(1, 2)] * 13  # one warm-up, then 3 x 4 single images
