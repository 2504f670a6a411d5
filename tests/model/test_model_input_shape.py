"""`MultiTaskModel` reads `input_shape` from a fixed-size backbone model."""

import keras
import pytest

import mtlzoo


def _tasks():
    return [
        mtlzoo.Task("c", "classification", num_classes=3, head={"units": 4}),
        mtlzoo.Task("r", "regression", head={"units": 4}),
    ]


def _net(shape):
    image = keras.Input(shape)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="a")(image)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="b")(x)
    return keras.Model(image, x)


def test_class_infers_the_input_shape_like_build():
    model = mtlzoo.MultiTaskModel(_net((16, 16, 3)), _tasks())
    built = mtlzoo.build(_net((16, 16, 3)), _tasks())
    assert model.input_shape_ == built.input_shape_ == (16, 16, 3)


@pytest.mark.parametrize("make", [mtlzoo.MultiTaskModel, mtlzoo.build])
def test_no_fixed_size_is_a_clear_error(make):
    with pytest.raises(ValueError, match="input_shape` is required"):
        make(_net((None, None, 3)), _tasks())
    with pytest.raises(ValueError, match="Received: input_shape=None"):
        make("tiny", _tasks())
