"""Convert on first use (`mtlzoo.presets.first_use`) on a tiny synthetic
preset: a two-output Keras net saved as .tflite here, split into a
registered trunk and graph heads, its preset folder pointing at the
.tflite by sha256 instead of shipping weights."""

import copy
import json
import os
import shutil
import sys

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import _files
from mtlzoo import backbones
from mtlzoo.presets import first_use
from mtlzoo.presets import schema

pytest.importorskip("tflite")

BACKBONE = "first_use_tiny_trunk"
NAME = "first_use_tiny"
SIZE = 32
OUTPUTS = {"points": 0, "score": 1}


def _net():
    """Five strided convs, pooled: 3 points x 3 coords (pixels) and a
    sigmoid score (what the MediaPipe graphs output, in small)."""
    inputs = keras.Input((SIZE, SIZE, 3), batch_size=1, name="image")
    x = inputs
    for i in range(1, 6):
        x = keras.layers.Conv2D(
            4 * i, 3, strides=2, padding="same", activation="relu"
        )(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    points = keras.layers.Dense(9)(x)
    score = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, [points, score])


def _tasks(heads):
    return [
        mtlzoo.Task(
            "points",
            "keypoints",
            num_keypoints=3,
            coords=3,
            visibility=False,
            head=heads.get("points"),
        ),
        mtlzoo.Task(
            "score",
            "classification",
            num_classes=2,
            head=heads.get("score"),
        ),
    ]


def _tflite(model, path):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(preset folder, .tflite path, expected outputs on `images`)."""
    from mtlzoo import convert
    from mtlzoo.convert import preset_weights

    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("first_use")
    source = _tflite(_net(), root / "tiny.tflite")
    original = convert.from_tflite(source)
    # TFLite may reorder the outputs: find them by their width.
    widths = [t.shape[-1] for t in keras.tree.flatten(original.outputs)]
    OUTPUTS.update(points=widths.index(9), score=widths.index(1))
    split = convert.split_model(original, OUTPUTS, name=BACKBONE)
    backbones.register_converted_backbone(
        BACKBONE,
        {
            "name": BACKBONE,
            "input_shape": [SIZE, SIZE, 3],
            "taps": split.levels,
            "config": split.trunk.get_config(),
        },
        replace=True,
    )
    plain = {t.name: t for t in _tasks({})}
    heads = {}
    for name, (head, sources) in split.heads.items():
        ins = keras.Input(tuple(head.inputs[0].shape[1:]), name=f"{name}_in")
        probability = preset_weights.is_probability_output(
            original, OUTPUTS[name]
        )
        x = preset_weights.adapt(plain[name], head(ins), SIZE, probability)
        graph = keras.Model(ins, x, name=name).get_config()
        heads[name] = {
            "type": "graph",
            "graph": {"inputs": sources, "config": graph},
        }
    tasks = _tasks(heads)
    model = mtlzoo.build(BACKBONE, tasks, (SIZE, SIZE, 3), name=NAME)
    weights = preset_weights.preset_weights(original, tasks, OUTPUTS, SIZE)
    preset_weights.assign_weights(model, weights)
    folder = model.save_to_preset(root / NAME)
    config = json.loads((folder / "config.json").read_text())
    config["weights"]["convert_from"] = {
        "format": "tflite",
        "sha256": _files.sha256(source),
        "size_bytes": source.stat().st_size,
        "license": "Apache-2.0",
        "outputs": OUTPUTS,
        "weights_digest": preset_weights.weights_digest(model),
        "sources": [
            {
                "package": "pypi:first-use-tiny",
                "version": "1.0",
                "module": "first_use_tiny_pkg",
                "file": "first_use_tiny_pkg/data/tiny.tflite",
                "install": "pip install first-use-tiny==1.0",
            }
        ],
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.weights.h5").unlink()
    images = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3))
    images = images.astype("float32")
    expected = model.predict(images, verbose=0)
    yield folder, source, images, expected
    backbones.registry.BACKBONES.unregister(BACKBONE)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """An empty Keras cache and no other source of the file."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(first_use.ENV_SOURCES, raising=False)
    return tmp_path / "keras" / "mtlzoo" / NAME


def _config(folder):
    return json.loads((folder / "config.json").read_text())


def _check(model, images, expected):
    got = model.predict(images, verbose=0)
    for task in expected:
        np.testing.assert_allclose(got[task], expected[task], atol=1e-6)


def test_first_load_converts_and_caches_then_reads_the_cache(tiny, home):
    folder, source, images, expected = tiny
    assert not home.exists()
    model = mtlzoo.load(folder, compile=False, source=source)
    _check(model, images, expected)
    assert sorted(os.listdir(home)) == ["model.weights.h5"]  # no temp left
    # The converted graph agrees with the interpreter on the source file.
    from mtlzoo import convert

    report = convert.compare_with_tflite(
        convert.from_tflite(source), source, images[:1]
    )
    assert all(o["max_rel"] < 1e-4 for o in report["outputs"])
    # Second load: the cache, without the source.
    again = mtlzoo.load(folder, compile=False)
    _check(again, images, expected)


def test_source_as_a_folder_the_environment_or_an_installed_package(
    tiny, home, tmp_path, monkeypatch
):
    folder, source, images, expected = tiny
    model = mtlzoo.load(folder, compile=False, source=source.parent)
    _check(model, images, expected)
    shutil.rmtree(home)
    monkeypatch.setenv(first_use.ENV_SOURCES, str(source.parent))
    _check(mtlzoo.load(folder, compile=False), images, expected)
    shutil.rmtree(home)
    monkeypatch.delenv(first_use.ENV_SOURCES)
    package = tmp_path / "site" / "first_use_tiny_pkg"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(source, package / "data" / "tiny.tflite")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    _check(mtlzoo.load(folder, compile=False), images, expected)
    assert "first_use_tiny_pkg" not in sys.modules  # found, not imported


def test_wrong_source_is_refused_naming_both_hashes(tiny, home, tmp_path):
    folder, source, _, _ = tiny
    keras.utils.set_random_seed(1)
    other = _tflite(_net(), tmp_path / "tiny.tflite")
    expected = _config(folder)["weights"]["convert_from"]["sha256"]
    with pytest.raises(ValueError) as info:
        mtlzoo.load(folder, compile=False, source=other)
    message = str(info.value)
    assert expected in message and _files.sha256(other) in message
    assert message.endswith(f"Received: source={str(other)!r}")
    assert not home.exists() or not os.listdir(home)


def test_missing_source_says_what_to_install(tiny, home):
    folder = tiny[0]
    with pytest.raises(ValueError) as info:
        mtlzoo.load(folder, compile=False)
    message = str(info.value)
    spec = _config(folder)["weights"]["convert_from"]
    for part in (
        f"Preset '{NAME}'",
        "tiny.tflite",
        spec["sha256"],
        "pip install first-use-tiny==1.0",
        "source=",
        first_use.ENV_SOURCES,
    ):
        assert part in message, part
    assert message.endswith("Received: source=None")
    assert "\n" not in message
    with pytest.raises(ValueError, match="looked at"):
        mtlzoo.load(folder, compile=False, source=home / "nowhere.tflite")


def test_corrupt_cache_is_refused_then_rebuilt(tiny, home):
    folder, source, images, expected = tiny
    mtlzoo.load(folder, compile=False, source=source)
    cached = home / "model.weights.h5"
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        mtlzoo.load(folder, compile=False)
    with pytest.warns(UserWarning, match="converting them again"):
        model = mtlzoo.load(folder, compile=False, source=source)
    _check(model, images, expected)
    assert first_use._cache_ok(cached, _config(folder)["weights"]["sha256"])


def test_load_weights_false_needs_no_source(tiny, home):
    model = mtlzoo.load(tiny[0], load_weights=False, compile=False)
    assert model.task_names == ["points", "score"]
    assert not home.exists()


def test_a_failed_conversion_leaves_no_cache(tiny, home, tmp_path):
    folder, source, _, _ = tiny
    config = _config(folder)
    config["weights"]["convert_from"]["weights_digest"] = "0" * 64
    bad = tmp_path / NAME
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="nothing was cached"):
        mtlzoo.load(bad, compile=False, source=source)
    assert not home.exists() or os.listdir(home) == []


def test_a_failure_while_writing_leaves_no_cache(tiny, home, monkeypatch):
    folder, source, _, _ = tiny

    def broken(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save_weights", broken)
    with pytest.raises(OSError, match="disk full"):
        mtlzoo.load(folder, compile=False, source=source)
    assert os.listdir(home) == []


def test_other_h5_bytes_are_recorded_beside_the_cache(tiny, home):
    folder, source, images, expected = tiny
    config = _config(folder)
    config["weights"]["sha256"] = "f" * 64  # as if h5py wrote other bytes
    path = first_use.weights_path(config, mtlzoo.MultiTaskModel, folder, source)
    sidecar = home / "model.weights.h5.sha256"
    assert sidecar.read_text().strip() == _files.sha256(path)
    assert first_use.weights_path(config, mtlzoo.MultiTaskModel, folder) == (
        path
    )


def test_source_only_for_presets_converted_on_first_use():
    with pytest.raises(ValueError, match="ships its weights"):
        mtlzoo.load("fashion_tiny_test", source="x.tflite")


def test_schema_checks_the_convert_from_block(tiny):
    config = _config(tiny[0])
    spec = config["weights"]["convert_from"]
    assert first_use.spec_problems(spec) == []
    bad = copy.deepcopy(spec)
    bad["sha256"] = "abc"
    del bad["sources"]
    problems = first_use.spec_problems(bad)
    assert any("sha256" in p for p in problems)
    assert any("sources" in p for p in problems)
    pose = mtlzoo.zoo.get_config("pose_mediapipe_full")
    schema.validate_config(pose, "pose_mediapipe_full")
    broken = copy.deepcopy(pose)
    broken["weights"]["convert_from"]["format"] = "onnx"
    with pytest.raises(ValueError, match="convert_from.format"):
        schema.validate_config(broken, "pose_mediapipe_full")


def test_cli_reads_configs_only_and_demo_says_what_to_install(
    home, monkeypatch, capsys, tmp_path
):
    from mtlzoo.app.cli import main

    monkeypatch.setattr(first_use, "_installed", lambda entry: None)
    assert main(["list"]) == 0
    assert "pose_mediapipe_full" in capsys.readouterr().out
    assert main(["info", "pose_mediapipe_full"]) == 0
    assert "converted on first use" in capsys.readouterr().out
    code = main(
        [
            "demo",
            "--name",
            "pose_mediapipe_full",
            "--out",
            str(tmp_path / "pose.png"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "pip install mediapipe==0.10.14" in err
    assert "npm pack @mediapipe/pose@0.5.1675469404" in err
    assert err.strip().endswith("Received: source=None")
