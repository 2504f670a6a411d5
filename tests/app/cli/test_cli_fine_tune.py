"""`mtlzoo train --preset NAME --data my.npz`: fine-tune a preset."""

import json

import numpy as np
import pytest

from mtlzoo._files import package_path
from mtlzoo.app import cli
from mtlzoo.app import model_source
from mtlzoo.app.cli import train as train_command


def _fashion(count=40):
    """Shipped Fashion-MNIST sample images (28x28 uint8) and classes."""
    path = package_path("assets", "fashion_mnist_sample.npz")
    with np.load(path) as data:
        return data["x_train"][:count], data["y_train"][:count]


def _npz(path, size=28):
    images, garment = _fashion()
    if size != 28:  # other-size images and masks: resized to the preset's
        images = np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)
    np.savez(
        path,
        images=images,
        garment=garment.astype("int64"),
        mask=(images > 20).astype("uint8"),
        parity=(garment % 2).astype("int64"),
    )
    return path


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("fine_tune")
    data = _npz(root / "mine.npz", size=56)
    argv = [
        "train",
        "--preset",
        "fashion_tiny_test",
        "--data",
        str(data),
        "--task",
        "parity:classification:2",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--validation-split",
        "0.2",
        "--freeze-until",
        "P2",
        "--batch-norm",
        "recalibrate",
        "--out",
        str(root / "out"),
        "--verbose",
        "0",
    ]
    assert cli.main(argv) == 0
    return root


def test_fine_tune_writes_the_train_outputs(fine_tuned, capsys):
    out = fine_tuned / "out"
    name = "fashion_tiny_test_mine"
    for file in (f"{name}.weights.h5", f"{name}.json"):
        assert (out / file).stat().st_size > 0, file
    for png in ("curves.png", "task_weights.png"):
        assert (out / png).stat().st_size > 0, png
    assert list((out / "logs" / "train").glob("events.*"))
    assert list((out / "logs" / "validation").glob("events.*"))
    config = json.loads((out / f"{name}.json").read_text())
    tasks = [t["name"] for t in config["architecture"]["tasks"]]
    assert tasks == ["garment", "mask", "parity"]
    assert config["training"]["preset"] == "fashion_tiny_test"
    assert config["training"]["new_tasks"] == ["parity"]
    assert config["training"]["freeze_until"] == "P2"
    assert config["training"]["batch_norm"] == "recalibrate"
    assert config["architecture"]["freeze_until"] == "P2"
    assert len(config["weights"]["sha256"]) == 64
    metrics = config["metrics"]
    assert metrics["split"] == "validation"
    assert metrics["validation_samples"] == 8  # 20 % of 40
    assert set(metrics["multi_task"]) >= {
        "garment_accuracy",
        "mask_mean_iou",
        "parity_accuracy",
    }


def test_fine_tuned_model_reloads_and_predicts(fine_tuned):
    path = str(fine_tuned / "out" / "fashion_tiny_test_mine.json")
    model, config, _ = model_source.load(path)
    images, _ = _fashion(3)
    out = model.predict(images[..., None].astype("float32"), verbose=0)
    assert out["garment"].shape == (3, 10)
    assert out["parity"].shape == (3, 2)
    assert out["mask"].shape[:3] == (3, 28, 28)
    assert config["metrics"]["multi_task"]


def test_kept_tasks_keep_their_trained_heads(tmp_path):
    from mtlzoo.app import fine_tune
    from mtlzoo.zoo import load

    data = _npz(tmp_path / "mine.npz")
    result = fine_tune.fine_tune(
        "fashion_tiny_test",
        str(data),
        str(tmp_path / "out"),
        tasks=["garment"],
        epochs=1,
        learning_rate=0.0,
        verbose=0,
    )
    preset = load("fashion_tiny_test", compile=False)
    tuned = result["model"]
    assert [t.name for t in tuned.tasks] == ["garment"]
    before = preset.get_layer("garment").get_weights()
    after = tuned.get_layer("garment").get_weights()
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b)  # loaded, and lr 0 kept them


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "declare it as NAME:KIND[:N], e.g. --task parity:classif"),
        (["--task", "parity"], "Received: task='parity'"),
        (["--task", "parity:colour:2"], "Received: kind='colour'"),
        (["--tasks", "nope"], "No labels for task(s) ['nope']"),
        (["--validation-split", "1"], "--validation-split must be in"),
    ],
)
def test_fine_tune_errors_are_one_line(tmp_path, capsys, extra, message):
    data = _npz(tmp_path / "mine.npz")
    argv = ["train", "--preset", "fashion_tiny_test", "--data", str(data)]
    assert cli.main(argv + extra + ["--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mtlzoo train: error: ") and message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train"], "Give a JSON config, or --preset NAME --data"),
        (["train", "c.json", "--preset", "p"], "not both"),
        (["train", "c.json", "--data", "x.npz"], "--data go(es) with"),
        (["train", "--preset", "p"], "--preset needs --data"),
        (["train", "--preset", "p", "--data", "no.npz"], "No such .npz"),
    ],
)
def test_usage_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text("{}")
    assert cli.main(argv) == 1
    assert message in capsys.readouterr().err


def test_help_names_the_fine_tune_form(capsys):
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--preset" in out and "--task NAME:KIND[:N]" in out
    assert set(train_command._FINE_TUNE_ONLY) <= set(
        vars(cli.build_parser().parse_args(["train", "x.json"]))
    )


def test_task_declarations_set_the_kinds_count():
    from mtlzoo.app.fine_tune import parse_task

    assert parse_task("digit:classification:10").num_classes == 10
    assert parse_task("pose:keypoints:7").get_config()["num_keypoints"] == 7
    heat = parse_task("joints:heatmap:3")
    assert heat.output_shape((32, 32, 3)) == (8, 8, 3)


def test_heatmap_labels_are_resized_to_the_map_not_the_image():
    from mtlzoo.app.fine_tune import _labels
    from mtlzoo.app.fine_tune import parse_task

    heat = parse_task("joints:heatmap:3")
    labels = np.random.default_rng(0).random((4, 16, 16, 3), "float32")
    assert _labels(heat, labels, 4, (32, 32)).shape == (4, 8, 8, 3)
    mask = parse_task("mask:segmentation:2")
    ids = np.zeros((4, 16, 16), "int32")
    assert _labels(mask, ids, 4, (32, 32)).shape == (4, 32, 32)
