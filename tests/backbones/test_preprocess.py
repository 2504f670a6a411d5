"""The `Preprocess` layer: modes, channel repeat, config round trip."""

import keras
import numpy as np
import pytest

from mtlzoo.backbones import Preprocess


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("none", [0.0, 127.5, 255.0]),
        ("unit", [0.0, 0.5, 1.0]),
        ("tf", [-1.0, 0.0, 1.0]),
        (
            "torch",
            [
                (0.0 - 0.485) / 0.229,
                (0.5 - 0.456) / 0.224,
                (1.0 - 0.406) / 0.225,
            ],
        ),
        ("caffe", [255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68]),
    ],
)
def test_preprocess_modes(mode, expected):
    rgb = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    out = Preprocess(mode, channels_out=3)(rgb)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out)[0, 0, 0], expected, rtol=1e-5
    )


def test_preprocess_repeats_gray_and_casts():
    gray = np.full((1, 2, 2, 1), 255, dtype="uint8")
    out = Preprocess("unit", channels_out=3)(gray)
    assert tuple(out.shape) == (1, 2, 2, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), 1.0)
    out = Preprocess("torch")(gray)
    assert tuple(out.shape) == (1, 2, 2, 1)


def test_preprocess_validation_and_config():
    with pytest.raises(ValueError, match="Received: mode='bgr'"):
        Preprocess("bgr")
    with pytest.raises(ValueError, match="Received: channels_out=0"):
        Preprocess("tf", channels_out=0)
    layer = Preprocess("caffe", channels_out=3, name="p")
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    assert isinstance(clone, Preprocess)
    assert clone.get_config() == layer.get_config()
