"""Bad inputs of the converted presets, post-processing, the heatmap and
keypoints kinds, the converters and the graph head (issue 18).

The same rules as `tests/test_bad_inputs.py`: each case fails with a
`ValueError`/`TypeError` (or, for the CLI, a non-zero exit and one
`error:` line) naming the culprit, saying `Received`, with no TensorFlow
class names, no traceback and no dumped arrays. Each preset loads once per
module.
"""

import os
import re

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import convert
from mtlzoo.app import cli
from mtlzoo.backbones import converted

FORBIDDEN = ("InvalidArgumentError", "tensorflow.python", "Traceback", "{{node")
DUMPED = re.compile(r"(\[\[|array\()[-\d.,\s\[\]e+nai]{60,}")
PRESETS = (
    "faces_mtcnn_onet",
    "faces_age_gender_faceapi",
    "face_mesh_mediapipe",
    "hands_mediapipe",
    "pose_mediapipe_lite",
)
PHOTO = os.path.join(
    os.path.dirname(mtlzoo.__file__), "assets", "photo_astronaut.jpg"
)


@pytest.fixture(scope="module")
def presets():
    loaded = {}

    def get(name):
        if name not in loaded:
            loaded[name] = mtlzoo.load(name)
        return loaded[name]

    return get


def _check_message(message, culprit, rule=None):
    assert culprit in message, (culprit, message)
    assert "Received" in message or (rule and rule in message), message
    for word in FORBIDDEN:
        assert word not in message, (word, message)
    assert not DUMPED.search(message), message


def _images(model, n=1, dtype="float32"):
    shape = (n,) + tuple(model.input_shape[1:])
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, shape).astype(dtype)


def _outputs(model):
    """Outputs of the right shapes (zeros, valid for post-processing)."""
    out = {}
    for task in model.tasks:
        shape = task.output_shape(tuple(model.input_shape[1:]))
        out[task.name] = np.full((1,) + tuple(shape), 0.5, "float32")
    return out


# ------------------------------------------------------------ predict
PREDICT = [
    ("predict-list-of-images", lambda m: [_images(m)[0]] * 2, "list"),
    ("predict-empty-batch", lambda m: _images(m)[:0], "empty"),
    ("predict-file-name", lambda m: "photo.jpg", "photo.jpg"),
    ("predict-gray", lambda m: _images(m)[..., :1], "shape"),
    ("predict-no-batch-axis", lambda m: _images(m)[0], "batch axis"),
    ("predict-one-image-list", lambda m: [_images(m)[0]], "batch axis"),
]


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize(
    "make, culprit", [pytest.param(*c[1:], id=c[0]) for c in PREDICT]
)
def test_predict_bad_images_are_named(name, make, culprit, presets):
    model = presets(name)
    with pytest.raises((ValueError, TypeError)) as info:
        model.predict(make(model), verbose=0)
    _check_message(str(info.value), culprit)


@pytest.mark.parametrize("name", PRESETS)
def test_predict_takes_uint8_and_float64(name, presets):
    model = presets(name)
    a = model.predict(_images(model, dtype="uint8"), verbose=0)
    b = model.predict(_images(model, dtype="uint8").astype("float64"), 0)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5)


# ------------------------------------------------ postprocess and crops
def _pp(name, **kwargs):
    def case(get):
        model = get(name)
        outputs = kwargs.pop("outputs", None)
        outputs = outputs(model) if outputs else _outputs(model)
        return mtlzoo.postprocess(model, outputs, **kwargs)

    return case


def _crop(image, box, name="faces_mtcnn_onet"):
    return lambda get: mtlzoo.zoo.crop_input(image, box, get(name))


def _photo(h=40, w=50):
    return np.random.default_rng(0).uniform(0, 255, (h, w, 3))


NAN_PHOTO = np.full((8, 8, 3), np.nan)


def _nan_outputs(model):
    out = _outputs(model)
    first = model.tasks[0].name
    out[first] = np.full_like(out[first], np.nan)
    return out


API = [
    (
        "postprocess-nan-outputs",
        _pp("faces_mtcnn_onet", outputs=_nan_outputs),
        "NaN",
    ),
    (
        "postprocess-extra-output",
        _pp("hands_mediapipe", outputs=lambda m: dict(_outputs(m), zz=1)),
        "zz",
    ),
    (
        "postprocess-bool-crop-box",
        _pp(
            "faces_mtcnn_onet",
            image_size=(9, 9),
            crop_box=(False, False, True, True),
        ),
        "crop_box",
    ),
    (
        "postprocess-str-outputs",
        _pp(
            "faces_mtcnn_onet", outputs=lambda m: {t: "x" for t in _outputs(m)}
        ),
        "face",
    ),
    (
        "postprocess-crop-without-image-size",
        _pp("pose_mediapipe_lite", crop_box=(0, 0, 10, 10)),
        "image_size",
    ),
    (
        "postprocess-threshold-bool",
        _pp("pose_mediapipe_lite", threshold=True),
        "threshold",
    ),
    (
        "postprocess-crop-boxes-per-image",
        _pp("hands_mediapipe", image_size=(9, 9), crop_box=[(0, 0, 4, 4)] * 2),
        "crop_box",
    ),
    ("crop-input-huge-box", _crop(_photo(), (0, 0, 10**6, 10**6)), "crop_box"),
    (
        "crop-input-box-outside",
        _crop(_photo(), (900, 900, 990, 990)),
        "crop_box",
    ),
    ("crop-input-bool-box", _crop(_photo(), (False, 0, True, 1)), "crop_box"),
    (
        "crop-input-nan-photo",
        _crop(np.full((8, 8, 3), np.nan), (0, 0, 4, 4)),
        "NaN",
    ),
    ("crop-input-two-photos", _crop(np.zeros((2, 8, 8, 3)), (0, 0, 4, 4)), "2"),
    (
        "square-box-inf-scale",
        lambda g: mtlzoo.zoo.square_box((0, 0, 9, 9), scale=float("inf")),
        "scale",
    ),
    (
        "square-box-bool-scale",
        lambda g: mtlzoo.zoo.square_box((0, 0, 9, 9), scale=True),
        "scale",
    ),
    (
        "square-box-overflow",
        lambda g: mtlzoo.zoo.square_box((0, 0, 9, 9), scale=1e308),
        "scale",
    ),
    (
        "square-box-bools",
        lambda g: mtlzoo.zoo.square_box((False, False, True, True)),
        "box",
    ),
]


# --------------------------------------------------- heatmap, keypoints
def _hm(**kwargs):
    return lambda g: mtlzoo.Task("h", "heatmap", **kwargs)


def _kp(**kwargs):
    return lambda g: mtlzoo.Task("k", "keypoints", **kwargs)


HM = mtlzoo.Task("h", "heatmap", num_keypoints=2)
XY = [[0.2, 0.3], [0.5, 0.5]]

API += [
    ("heatmap-pck-bool", _hm(pck_threshold=True), "pck_threshold"),
    ("heatmap-pck-str", _hm(pck_threshold="0.1"), "pck_threshold"),
    (
        "heatmap-names-repeat",
        _hm(num_keypoints=2, keypoint_names=["a", "a"]),
        "keypoint_names",
    ),
    ("heatmap-names-int", _hm(keypoint_names=5), "keypoint_names"),
    ("keypoints-coords-float", _kp(coords=2.0), "coords"),
    ("keypoints-pck-bool", _kp(pck_threshold=True), "pck_threshold"),
    (
        "keypoints-names-repeat",
        _kp(num_keypoints=2, keypoint_names=["a", "a"]),
        "keypoint_names",
    ),
    (
        "to-heatmaps-text",
        lambda g: HM.keypoints_to_heatmaps("abc", (32, 32, 3)),
        "points",
    ),
    (
        "to-heatmaps-six-columns",
        lambda g: HM.keypoints_to_heatmaps(np.zeros((2, 6)), (32, 32, 3)),
        "points",
    ),
    (
        "to-heatmaps-inf",
        lambda g: HM.keypoints_to_heatmaps([[np.inf, 0], [0, 0]], (8, 8, 3)),
        "inf",
    ),
    (
        "to-heatmaps-visibility-2",
        lambda g: HM.keypoints_to_heatmaps([[0, 0, 2], [0, 0, 1]], (8, 8, 3)),
        "visibility",
    ),
    (
        "to-heatmaps-shape-none",
        lambda g: HM.keypoints_to_heatmaps(XY, None),
        "input_shape",
    ),
    (
        "to-heatmaps-shape-2d",
        lambda g: HM.keypoints_to_heatmaps(XY, (32, 32)),
        "input_shape",
    ),
    (
        "to-heatmaps-shape-negative",
        lambda g: HM.keypoints_to_heatmaps(XY, (-32, 32, 3)),
        "input_shape",
    ),
    (
        "to-heatmaps-huge",
        lambda g: HM.keypoints_to_heatmaps(XY, (4 * 10**6, 4 * 10**6, 3)),
        "map size",
    ),
    (
        "to-heatmaps-sigma-text",
        lambda g: HM.keypoints_to_heatmaps(XY, (8, 8, 3), sigma="a"),
        "sigma",
    ),
    (
        "to-heatmaps-sigma-bool",
        lambda g: HM.keypoints_to_heatmaps(XY, (8, 8, 3), sigma=True),
        "sigma",
    ),
    (
        "to-keypoints-empty-maps",
        lambda g: HM.heatmaps_to_keypoints(np.zeros((0, 8, 2))),
        "values",
    ),
    (
        "to-keypoints-text",
        lambda g: HM.heatmaps_to_keypoints("abc"),
        "values",
    ),
    (
        "to-keypoints-ragged",
        lambda g: HM.heatmaps_to_keypoints([[[0, 1]], [[0]]]),
        "values",
    ),
    (
        "to-keypoints-refine-text",
        lambda g: HM.heatmaps_to_keypoints(np.zeros((8, 8, 2)), refine="no"),
        "refine",
    ),
]

# --------------------------------------------------------- masked_mean
API += [
    (
        "masked-mean-shapes",
        lambda g: mtlzoo.tasks.masked_mean(np.ones((2, 3)), np.ones((2, 4))),
        "mask.shape",
    ),
    (
        "masked-mean-broadcast",
        lambda g: mtlzoo.tasks.masked_mean(np.ones((2, 3)), np.ones((2, 1))),
        "mask.shape",
    ),
    (
        "masked-mean-text",
        lambda g: mtlzoo.tasks.masked_mean("a", np.ones(2)),
        "values",
    ),
]


@pytest.mark.parametrize(
    "case, culprit", [pytest.param(*c[1:], id=c[0]) for c in API]
)
def test_api_bad_input_is_named(case, culprit, presets):
    with pytest.raises((ValueError, TypeError)) as info:
        case(presets)
    _check_message(str(info.value), culprit)


# ------------------------------------------- converters, trunks, heads
def _small_net():
    image = keras.Input((16, 16, 3), batch_size=1, name="image")
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(image)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    heat = keras.layers.Conv2D(2, 1, name="heat")(x)
    vector = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(image, [heat, vector])


def _file(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _truncated_tflite(tmp):
    import tensorflow as tf

    pytest.importorskip("tflite")
    data = tf.lite.TFLiteConverter.from_keras_model(_small_net()).convert()
    return _file(tmp, "cut.tflite", data[: len(data) // 2])


SHIPPED = converted.load_graph("mediapipe_face_mesh")


def _register(**kwargs):
    kwargs.setdefault("graph", SHIPPED)
    return lambda t: converted.register_converted_backbone(
        kwargs.pop("name", "bad_trunk_test"), **kwargs
    )


def _graph_head(graph):
    task = mtlzoo.Task(
        "presence",
        "classification",
        num_classes=2,
        head={"type": "graph", "graph": graph},
    )
    return lambda t: mtlzoo.build(
        "tiny", [task, mtlzoo.Task("r", "regression")], (16, 16, 3)
    )


def _bad_json(tmp):
    return _file(tmp, "bad.json", b"{not json")


FILES = [
    (
        "tflite-missing",
        lambda t: convert.from_tflite("/no/such.tflite"),
        "/no/such.tflite",
    ),
    (
        "tflite-text-file",
        lambda t: convert.from_tflite(_file(t, "a.tflite", b"hello there")),
        "a.tflite",
    ),
    (
        "tflite-empty-file",
        lambda t: convert.from_tflite(_file(t, "e.tflite", b"")),
        "e.tflite",
    ),
    (
        "tflite-truncated",
        lambda t: convert.from_tflite(_truncated_tflite(t)),
        "cut.tflite",
    ),
    ("tflite-directory", lambda t: convert.from_tflite(t), "path"),
    ("tflite-not-a-path", lambda t: convert.from_tflite(3), "path"),
    (
        "tflite-source-key",
        lambda t: convert.from_tflite("x.tflite", source={"wobble": 1}),
        "source",
    ),
    (
        "split-bool-index",
        lambda t: convert.split_model(_small_net(), {"a": False, "b": True}),
        "outputs",
    ),
    (
        "split-int-names",
        lambda t: convert.split_model(_small_net(), {1: 0, 2: 1}),
        "outputs",
    ),
    (
        "split-name-int",
        lambda t: convert.split_model(_small_net(), name=3),
        "name",
    ),
    (
        "trunk-shape-bool",
        _register(input_shape=(True, 192, 3)),
        "input_shape",
    ),
    (
        "trunk-shape-not-the-graphs",
        _register(input_shape=(64, 64, 3)),
        "input_shape",
    ),
    ("trunk-tap-unknown-layer", _register(taps={"P1": "nope"}), "nope"),
    ("trunk-taps-list", _register(taps=["a"]), "taps"),
    ("trunk-config-text", _register(graph=dict(SHIPPED, config="x")), "config"),
    ("trunk-name-int", _register(name=5), "name"),
    ("trunk-aliases-str", _register(aliases="abc"), "aliases"),
    ("trunk-replace-str", _register(replace="yes"), "replace"),
    (
        "trunk-graph-bad-json",
        lambda t: converted.register_converted_backbone(
            "bad_trunk_test", graph=_bad_json(t)
        ),
        "bad.json",
    ),
    (
        "graph-head-bad-config",
        _graph_head({"inputs": ["P5"], "config": {"a": 1}}),
        "presence",
    ),
    (
        "graph-head-bad-json",
        lambda t: _graph_head(_bad_json(t))(t),
        "bad.json",
    ),
    (
        "build-head-options-list",
        lambda t: mtlzoo.heads.build_head(mtlzoo.Task("r", "regression"), [1]),
        "options",
    ),
    (
        "build-head-unknown-type",
        lambda t: mtlzoo.heads.build_head(
            mtlzoo.Task("r", "regression"), {"type": "nope"}
        ),
        "nope",
    ),
]


@pytest.mark.parametrize(
    "case, culprit", [pytest.param(*c[1:], id=c[0]) for c in FILES]
)
def test_files_and_graphs_bad_input_is_named(case, culprit, tmp_path):
    with pytest.raises((ValueError, TypeError)) as info:
        case(str(tmp_path))
    _check_message(str(info.value), culprit)
    assert "bad_trunk_test" not in mtlzoo.backbones.list_backbones()


# ---------------------------------------------------------------- search
def _search(tuner, env=None):
    def case(monkeypatch):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        config = {
            "backbone": "tiny",
            "dataset": {"name": "no_such_data"},
            "tuner": tuner,
        }
        mtlzoo.tuning.run_search(config)

    return case


SEARCH = [
    ("search-max-trials-0", _search({"max_trials": 0}), "max_trials"),
    ("search-max-trials-negative", _search({"max_trials": -2}), "max_trials"),
    ("search-max-trials-bool", _search({"max_trials": True}), "max_trials"),
    (
        "search-env-half-set",
        _search({}, {"KERASTUNER_ORACLE_IP": "127.0.0.1"}),
        "KERASTUNER_ORACLE_PORT",
    ),
]


@pytest.mark.parametrize(
    "case, culprit", [pytest.param(*c[1:], id=c[0]) for c in SEARCH]
)
def test_search_bad_input_is_named(case, culprit, monkeypatch):
    with pytest.raises((ValueError, TypeError)) as info:
        case(monkeypatch)
    _check_message(str(info.value), culprit)


# -------------------------------------------------------------------- CLI
def _text_file(tmp):
    return _file(tmp, "notes.png", b"not an image")


CLI = [
    (
        "cli-predict-missing-photo",
        lambda t: ["predict", "faces_mtcnn_onet", "/no/such.jpg"],
        "/no/such.jpg",
    ),
    (
        "cli-predict-not-an-image",
        lambda t: ["predict", "faces_mtcnn_onet", _text_file(t)],
        "notes.png",
    ),
    (
        "cli-predict-crop-box-short",
        lambda t: ["predict", "faces_mtcnn_onet", PHOTO, "--crop-box", "1"],
        "--crop-box",
    ),
    (
        "cli-predict-crop-box-inverted",
        lambda t: (
            ["predict", "faces_mtcnn_onet", PHOTO, "--crop-box"]
            + ["50", "50", "10", "10"]
        ),
        "--crop-box",
    ),
    (
        "cli-predict-crop-box-text",
        lambda t: (
            ["predict", "faces_mtcnn_onet", PHOTO, "--crop-box"]
            + ["a", "b", "c", "d"]
        ),
        "--crop-box",
    ),
    (
        "cli-predict-crop-box-outside",
        lambda t: (
            ["predict", "faces_mtcnn_onet", PHOTO, "--crop-box"]
            + ["5000", "5000", "5100", "5100", "--output-dir", t]
        ),
        "crop_box",
    ),
    (
        "cli-predict-unknown-preset",
        lambda t: ["predict", "no_such_preset", PHOTO],
        "no_such_preset",
    ),
    (
        "cli-demo-unknown-preset",
        lambda t: ["demo", "--name", "no_such_preset"],
        "no_such_preset",
    ),
    (
        "cli-demo-out-directory",
        lambda t: ["demo", "--name", "faces_mtcnn_onet", "--out", t],
        "--out",
    ),
]


@pytest.mark.parametrize(
    "argv, culprit", [pytest.param(*c[1:], id=c[0]) for c in CLI]
)
def test_cli_bad_input_is_named(argv, culprit, tmp_path, capsys):
    code = cli.main(argv(str(tmp_path)))
    err = capsys.readouterr().err
    assert code != 0, err
    lines = [line for line in err.splitlines() if "error" in line]
    assert lines, err
    _check_message(lines[-1], culprit, rule="error:")


def test_the_tables_are_large_enough():
    cases = len(PREDICT) * len(PRESETS) + len(API) + len(FILES)
    assert cases + len(SEARCH) + len(CLI) >= 100
