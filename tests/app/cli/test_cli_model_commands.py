"""`mtlzoo train | export | predict | search` and their errors."""

import json
import os

import numpy as np
import pytest
from cli_helpers import own_lines
from cli_helpers import run_cli
from PIL import Image

import mtlzoo
from mtlzoo.app import cli


def _config():
    tasks = [
        mtlzoo.Task("shape", "classification", num_classes=4),
        mtlzoo.Task("segmentation", "segmentation", num_classes=5),
        mtlzoo.Task("depth", "depth"),
    ]
    model = mtlzoo.build(
        "tiny",
        tasks,
        input_shape=(32, 32, 3),
        heads={"segmentation": {"width": 8}, "depth": {"width": 8}},
        name="shapes_tiny",
    )
    return {
        "name": "shapes_tiny",
        "architecture": model.get_config(),
        "training": {
            "dataset": {
                "loader": "shapes",
                "args": {"size": 32},
                "train": {"num_samples": 32},
                "validation": {"num_samples": 8},
                "test": {"num_samples": 16},
            },
            "epochs": 1,
            "batch_size": 16,
            "weighting": "equal",
            "callbacks": [
                {"name": "DynamicWeightAveraging", "args": {"temperature": 2}}
            ],
            "images": 2,
        },
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    with open(root / "run.json", "w") as f:
        json.dump(_config(), f)
    result = run_cli("train", "run.json", "--output", "out", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_train_writes_weights_config_and_logs(trained):
    import tensorflow as tf

    root, result = trained
    out = root / "out"
    assert "shape_accuracy" in result.stdout
    config = json.loads((out / "shapes_tiny.json").read_text())
    weights = out / config["weights"]["file"]
    assert weights.is_file()
    assert config["weights"]["size_bytes"] == weights.stat().st_size
    assert len(config["weights"]["sha256"]) == 64
    metrics = config["metrics"]
    assert metrics["test_samples"] == 16
    assert set(metrics["multi_task"]) >= {
        "shape_accuracy",
        "segmentation_mean_iou",
        "depth_abs_err",
    }
    assert metrics["primary"]["depth"] == "depth_abs_err"
    assert config["architecture"] == _config()["architecture"]
    for sub in ("train", "validation"):
        assert os.listdir(out / "logs" / sub)
    tags = set()
    for path in (out / "logs" / "validation").glob("events.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert {"dense/segmentation/prediction", "dense/depth/label"} <= tags
    tags = set()
    for path in (out / "logs" / "train").glob("events.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert {"task_weight/shape", "gradient_cosine/shape__depth"} <= tags
    for png in ("curves.png", "task_weights.png"):
        assert (out / png).stat().st_size > 1000


def test_export_tflite_round_trip(trained):
    from mtlzoo.app import model_source
    from mtlzoo.export import interpreter

    root, _ = trained
    result = run_cli(
        "export",
        "out/shapes_tiny.json",
        "--format",
        "tflite",
        "--output",
        "m.tflite",
        "--samples",
        "8",
        "--json",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["output_names"] == {
        "depth": "depth",
        "segmentation": "segmentation",
        "shape": "shape",
    }
    for task, numbers in report["tasks"].items():
        assert numbers["max_abs_error"] < 1e-4, (task, numbers)
    assert (root / "m.report.json").is_file()
    # independently: the file against the Keras model
    model, _, _ = model_source.load(str(root / "out" / "shapes_tiny.json"))
    x = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3))
    x = x.astype("float32")
    content = (root / "m.tflite").read_bytes()
    got = interpreter(content).get_signature_runner()(image=x)
    expected = model.predict(x, verbose=0)
    for task in expected:
        np.testing.assert_allclose(got[task], expected[task], atol=1e-4)


def test_predict_writes_pngs(trained):
    root, _ = trained
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), "uint8")).save(
        root / "a.png"
    )
    Image.fromarray(rng.integers(0, 255, (20, 20), "uint8")).save(
        root / "b.jpg"
    )
    result = run_cli(
        "predict",
        "out/shapes_tiny.json",
        "a.png",
        "b.jpg",
        "--output-dir",
        "pred",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for stem in ("a", "b"):
        for task in ("segmentation", "depth"):
            with Image.open(root / "pred" / f"{stem}_{task}.png") as image:
                assert image.size == (32, 32)
    assert "shape:" in result.stdout and "a_depth.png" in result.stdout


def test_bad_input_is_one_line(tmp_path):
    result = run_cli("train", "missing.json", cwd=tmp_path)
    assert result.returncode == 1
    lines = own_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mtlzoo train: error: No such config file")
    assert lines[0].endswith("Received: config='missing.json'")


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (
            ["export", "x", "--format", "savedmodel", "--quantize", "int8"],
            1,
            "mtlzoo export: error: --quantize needs --format tflite",
        ),
        (["predict", "x", "nope.png"], 1, "No such image file(s): nope.png"),
        (["train", "bad.json"], 1, "bad.json is not valid JSON"),
        (["export", "no_such_model"], 1, "Received: name='no_such_model'"),
        (["export"], 2, "mtlzoo export: error: the following arguments"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_errors_in_process(tmp_path, monkeypatch, capsys, argv, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err


@pytest.mark.parametrize("command", ["train", "export", "predict", "search"])
def test_help(capsys, command):
    assert cli.main([command, "--help"]) == 0
    assert f"usage: mtlzoo {command}" in capsys.readouterr().out


def test_export_keras_file(tmp_path, monkeypatch, capsys):
    tasks = [
        mtlzoo.Task("digit", "classification", num_classes=3),
        mtlzoo.Task("mask", "segmentation", num_classes=2),
    ]
    model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1))
    model.save(tmp_path / "m.keras")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", "m.keras", "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "savedmodel (float32): m_savedmodel" in out
    assert "4 random images" in out
    report = json.loads((tmp_path / "m_savedmodel.report.json").read_text())
    assert report["tasks"]["mask"]["class_agreement"] == 1.0
    assert (
        cli.main(
            ["export", "m.keras", "--quantize", "int8", "--format", "tflite"]
        )
        == 1
    )
    assert "int8 needs calibration images" in capsys.readouterr().err


def test_search_calls_run_search(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search.json").write_text('{"backbone": "tiny"}')
    assert cli.main(["search", "search.json"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mtlzoo search: error: ") and "dataset" in err
