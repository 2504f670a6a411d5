"""The converted preset `faces_mtcnn_onet` (MTCNN's O-Net): load, predict,
agreement with the original's stored outputs, .keras round trip,
fine-tuning."""

import pathlib

import keras
import numpy as np
import pytest

from mtlzoo import zoo

NAME = "faces_mtcnn_onet"
REFERENCE = (
    pathlib.Path(__file__).resolve().parents[1]
    / "data"
    / "faces_mtcnn_onet_reference.npz"
)
skimage_data = pytest.importorskip("skimage.data")


def crops(pictures, boxes):
    """Raw 0..255 48x48 crops, cut as the MTCNN cascade cuts them."""
    import tensorflow as tf

    out = []
    for picture, box in zip(pictures, boxes):
        image = getattr(skimage_data, str(picture))()[None].astype("float32")
        out.append(tf.image.crop_and_resize(image, [box], [0], (48, 48))[0])
    return np.stack(out)


@pytest.fixture(scope="module")
def model():
    return zoo.load(NAME, compile=False)


@pytest.fixture(scope="module")
def reference():
    data = np.load(REFERENCE)
    return {k: data[k] for k in data.files}


def test_outputs_by_task_and_agreement(model, reference):
    assert model.task_names == ["face", "box", "landmarks"]
    x = crops(reference["pictures"], reference["boxes"])
    out = model.predict(x, verbose=0)
    assert out["landmarks"].shape == (4, 5, 2)
    for task in ("face", "box", "landmarks"):
        np.testing.assert_allclose(out[task], reference[task], atol=1e-5)
    assert (out["face"][:2, 1] > 0.9).all()  # face crops
    assert (out["face"][2:, 1] < 0.1).all()  # coffee, chelsea
    eyes = out["landmarks"][0, :2]
    assert eyes[0, 0] < eyes[1, 0]  # left eye left of the right one
    landmarks = model.tasks[2]
    assert landmarks.keypoint_names[0] == "left_eye"
    assert landmarks.describe(out["landmarks"][0]).startswith(
        "5 points, 5 visible: left_eye"
    )


def test_card_and_config():
    card = zoo.info(NAME)
    assert card["converted"] and card["delta_m"] is None
    record = card["source"]["converted_from"]
    assert record["package"] == "pypi:mtcnn" and record["version"] == "1.0.0"
    assert card["params"] == 389_040 + 3  # + one weight per task
    agreement = card["agreement"]["outputs"]
    assert set(agreement) == {"face", "box", "landmarks"}


def test_keras_round_trip(model, reference, tmp_path):
    x = crops(reference["pictures"][:1], reference["boxes"][:1])
    path = tmp_path / "onet.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    expected = model.predict(x, verbose=0)
    got = again.predict(x, verbose=0)
    for task in expected:
        np.testing.assert_array_equal(expected[task], got[task])


def test_fine_tune_lowers_the_loss(reference):
    keras.utils.set_random_seed(0)
    model = zoo.load(NAME, compile=False)
    rng = np.random.default_rng(0)
    x = crops(reference["pictures"][:2], reference["boxes"][:2])
    x = np.concatenate([x] * 4)
    x = np.clip(x + rng.normal(0, 8, x.shape), 0, 255).astype("float32")
    out = model.predict(x, verbose=0)
    points = out["landmarks"] + 0.05  # labels a little off the predictions
    visible = np.ones(points.shape[:2] + (1,), "float32")
    visible[::2, -1] = 0.0  # some landmarks not visible: no loss
    y = {
        "face": np.ones(len(x), "int32"),
        "box": np.full((len(x), 4), np.nan, "float32"),  # all missing
        "landmarks": np.concatenate([points, visible], -1),
    }
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0).history
    losses = history["landmarks_loss"]
    assert np.isfinite(history["loss"]).all()
    assert losses[-1] < losses[0]
    assert history["box_loss"][-1] == 0.0


def test_tflite_export(model, reference, tmp_path):
    from mtlzoo.export import export

    x = crops(reference["pictures"], reference["boxes"])
    report = export(
        model, str(tmp_path / "onet.tflite"), format="tflite", sample_inputs=x
    )
    assert sorted(report["output_names"]) == sorted(model.task_names)
    assert report["tasks"]["face"]["top1_agreement"] == 1.0
    assert report["tasks"]["landmarks"]["max_point_shift"] < 1e-4
