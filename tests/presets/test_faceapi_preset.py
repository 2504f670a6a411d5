"""The converted preset `faces_age_gender_faceapi` (face-api's age and
gender net): one-call load, agreement with face-api's stored JavaScript
outputs, config and .keras round trips, fine-tuning, TFLite export."""

import json
import pathlib

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import zoo

NAME = "faces_age_gender_faceapi"
REFERENCE = (
    pathlib.Path(__file__).resolve().parents[1]
    / "data"
    / "faces_age_gender_faceapi_reference.npz"
)


@pytest.fixture(scope="module")
def model():
    return mtlzoo.load(NAME, compile=False)


@pytest.fixture(scope="module")
def reference():
    data = np.load(REFERENCE)
    return {k: data[k] for k in data.files}


def test_outputs_by_task_and_agreement(model, reference):
    crops = reference["crops"]
    assert crops.dtype == np.uint8 and crops.shape == (4, 112, 112, 3)
    assert model.task_names == ["age", "gender"]
    assert model.tasks[1].class_names == ["male", "female"]
    out = model.predict(crops.astype("float32"), verbose=0)
    assert out["age"].shape == (4, 1) and out["gender"].shape == (4, 2)
    # face-api's JavaScript outputs on the same uint8 crops.
    np.testing.assert_allclose(out["age"], reference["age"], atol=1e-4)
    np.testing.assert_allclose(out["gender"], reference["gender"], atol=1e-5)
    np.testing.assert_allclose(out["gender"].sum(-1), 1.0, atol=1e-6)
    assert (out["gender"][:, 1] > 0.8).all()  # the astronaut: female
    assert (out["age"] > 25).all() and (out["age"] < 40).all()


def test_card_and_config():
    card = zoo.info(NAME)
    assert card["converted"] and card["delta_m"] is None
    record = card["source"]["converted_from"]
    assert record["package"] == "npm:@vladmandic/face-api"
    assert record["version"] == "1.7.15"
    assert card["params"] == 421_731 + 2  # + one weight per task
    agreement = card["agreement"]["outputs"]
    assert set(agreement) == {"age", "gender"}
    assert agreement["age"]["max_abs"] < 1e-4
    assert "MIT" in card["license"]


def test_config_round_trip(model):
    config = model.get_config()
    again = mtlzoo.MultiTaskModel.from_config(config)
    assert json.dumps(again.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    stored = zoo.get_config(NAME)["architecture"]
    rebuilt = mtlzoo.MultiTaskModel.from_config(stored).get_config()
    assert json.loads(json.dumps(rebuilt)) == stored


def test_keras_round_trip(model, reference, tmp_path):
    x = reference["crops"][:2].astype("float32")
    path = tmp_path / "age_gender.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    expected = model.predict(x, verbose=0)
    got = again.predict(x, verbose=0)
    for task in expected:
        np.testing.assert_array_equal(expected[task], got[task])


def test_fine_tune_lowers_the_loss(reference):
    keras.utils.set_random_seed(0)
    model = mtlzoo.load(NAME, compile=False)
    rng = np.random.default_rng(0)
    x = np.concatenate([reference["crops"].astype("float32")] * 2)
    x = np.clip(x + rng.normal(0, 8, x.shape), 0, 255).astype("float32")
    ages = model.predict(x, verbose=0)["age"]
    y = {
        "age": ages + 6.0,  # labels a few years off the predictions
        "gender": np.array([0, 1, -1, 1, 0, 1, 1, -1], "int32"),
    }
    y["age"][::4] = np.nan  # some ages missing: no loss
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert history["age_loss"][-1] < history["age_loss"][0]
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.large
def test_tflite_export(model, reference, tmp_path):
    from mtlzoo.export import export

    x = reference["crops"].astype("float32")
    report = export(
        model,
        str(tmp_path / "age_gender.tflite"),
        format="tflite",
        sample_inputs=x,
    )
    assert sorted(report["output_names"]) == ["age", "gender"]
    assert report["tasks"]["gender"]["top1_agreement"] == 1.0
    assert report["tasks"]["age"]["max_abs_error"] < 1e-3  # years
    assert report["tasks"]["gender"]["max_abs_error"] < 1e-4
