"""mtlzoo.images.prepare: any image -> the model's input batch."""

import keras
import numpy as np
import pytest
from PIL import Image

import mtlzoo
from mtlzoo import images


def test_small_image_is_upscaled_to_the_input_size():
    tiny = np.arange(64, dtype="uint8").reshape(8, 8)
    batch = images.prepare(tiny, (28, 28, 1))
    assert batch.shape == (1, 28, 28, 1) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 63.0


def test_large_rgba_image_for_a_grey_model():
    rgba = np.zeros((300, 200, 4), "uint8")
    rgba[..., 0] = 255  # pure red, alpha varies (dropped)
    rgba[..., 3] = np.arange(200, dtype="uint8")
    batch = images.prepare(rgba, (28, 28, 1))
    assert batch.shape == (1, 28, 28, 1)
    np.testing.assert_allclose(batch, 0.299 * 255, rtol=1e-5)


def test_rgba_for_an_rgb_model_drops_alpha():
    rgba = np.full((10, 12, 4), 7, "uint8")
    rgba[..., 3] = 0
    np.testing.assert_array_equal(
        images.prepare(rgba, (10, 12, 3)), np.full((1, 10, 12, 3), 7.0)
    )


def test_grey_into_rgb_and_rgb_into_grey():
    grey = np.full((5, 5, 1), 100, "uint8")
    rgb = images.prepare(grey, (5, 5, 3))
    np.testing.assert_array_equal(rgb, np.full((1, 5, 5, 3), 100.0))
    colour = np.zeros((5, 5, 3), "float32")
    colour[..., 1] = 200.0
    np.testing.assert_allclose(
        images.prepare(colour, (5, 5, 1)), np.full((1, 5, 5, 1), 0.587 * 200)
    )
    # Same as PIL's own conversion (which rounds).
    pil = Image.fromarray(np.full((4, 4, 3), (10, 200, 30), "uint8"))
    expected = np.asarray(pil.convert("L"), "float32")[None, ..., None]
    np.testing.assert_allclose(images.prepare(pil, (4, 4, 1)), expected, 0.6)


def test_alpha_added_for_a_four_channel_model():
    out = images.prepare(np.zeros((3, 3), "uint8"), (3, 3, 4))
    np.testing.assert_array_equal(out[..., 3], 255.0)
    np.testing.assert_array_equal(out[..., :3], 0.0)


def test_same_size_passes_through_unchanged():
    x = np.random.default_rng(0).uniform(0, 255, (2, 6, 7, 3))
    np.testing.assert_allclose(images.prepare(x, (6, 7, 3)), x, rtol=1e-6)


def test_batches_lists_and_grey_batches():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (3, 40, 30, 3), dtype="uint8")
    assert images.prepare(batch, (16, 16, 3)).shape == (3, 16, 16, 3)
    grey_batch = rng.integers(0, 256, (5, 20, 20), dtype="uint8")
    assert images.prepare(grey_batch, (8, 8, 1)).shape == (5, 8, 8, 1)
    mixed = [
        np.zeros((8, 8), "uint8"),
        np.zeros((300, 200, 4), "uint8"),
        Image.new("P", (17, 9)),
    ]
    assert images.prepare(mixed, (28, 28, 3)).shape == (3, 28, 28, 3)


def test_aspect_ratio_crop_and_pad():
    wide = np.zeros((10, 30), "float32")
    wide[:, 10:20] = 255.0  # bright centre third
    cropped = images.prepare(wide, (10, 10, 1), crop_to_aspect_ratio=True)
    assert cropped.min() > 250.0  # only the centre is kept
    padded = images.prepare(wide, (30, 30, 1), pad_to_aspect_ratio=True)
    assert padded[0, :5].max() == 0.0  # black bars above and below
    with pytest.raises(ValueError, match="Received: crop_to_aspect_ratio"):
        images.prepare(wide, (10, 10, 1), True, True)


def test_paths_and_pil_images(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((300, 200, 4), 90, "uint8"), "RGBA").save(path)
    for source in (str(path), path, [str(path), path]):
        out = images.prepare(source, (28, 28, 3))
        assert out.shape[1:] == (28, 28, 3)
        np.testing.assert_allclose(out, 90.0, atol=1e-3)
    pil = Image.new("L", (50, 20), color=33)
    np.testing.assert_allclose(images.prepare(pil, (28, 28, 1)), 33.0, 1e-5)


def test_model_input_shape_is_read_from_the_model():
    model = mtlzoo.load("fashion_tiny_test", compile=False)
    batch = images.prepare(np.zeros((300, 200, 4), "uint8"), model)
    assert batch.shape == (1, 28, 28, 1)
    assert set(model.predict(batch, verbose=0)) == {t.name for t in model.tasks}


def test_model_of_any_size_keeps_the_image_size():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    assert images.input_shape(model) == (None, None, 3)
    out = images.prepare(np.zeros((13, 17), "uint8"), model)
    assert out.shape == (1, 13, 17, 3)
    with pytest.raises(ValueError, match="Received: image sizes="):
        images.prepare([np.zeros((4, 4)), np.zeros((5, 5))], model)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ([], ValueError, "Received: images=[]"),
        (np.zeros((2, 3, 4, 5, 6)), ValueError, "Received: images with shape"),
        (np.zeros((0, 5)), ValueError, "Received: images with shape"),
        (np.array(["a", "b"]), TypeError, "Received: images with dtype"),
        (np.zeros((5, 5), bool), TypeError, "Received: images with dtype"),
        ([np.zeros((2, 4, 4, 3))], ValueError, "Received: images[0] with"),
        (None, TypeError, "Received: images=None"),
        ({"a": 1}, TypeError, "Received: images="),
        ("no_such.png", ValueError, "Received: image='no_such.png'"),
    ],
)
def test_bad_inputs_name_the_culprit(bad, error, message):
    import re

    with pytest.raises(error, match=re.escape(message)):
        images.prepare(bad, (8, 8, 3))


def test_unreadable_file_and_bad_shapes(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="Cannot read image.*Received: image"):
        images.prepare(str(path), (8, 8, 3))
    with pytest.raises(ValueError, match="Received: input shape=\\(8, 8\\)"):
        images.prepare(np.zeros((8, 8)), (8, 8))
    with pytest.raises(TypeError, match="Received: model_or_input_shape=8"):
        images.prepare(np.zeros((8, 8)), 8)
    with pytest.raises(ValueError, match="Received: image channels=5"):
        images.prepare(np.zeros((2, 8, 8, 5)), (8, 8, 3))


def test_public_name():
    assert mtlzoo.images is images
    assert "images" in mtlzoo.__all__
