"""`mtlzoo.app.demo`: a preset on the real images shipped with mtlzoo."""

import numpy as np
import pytest

import mtlzoo
from mtlzoo import testing
from mtlzoo.app import demo

TINY = "fashion_tiny_test"


def test_demo_writes_png(tmp_path, capsys):
    out = tmp_path / "demo.png"
    result = demo.run_demo(TINY, out=out, num_images=3)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert result["num_samples"] == 200
    printed = capsys.readouterr().out
    assert "garment_accuracy" in printed and "#2:" in printed


def test_panel_and_scores_of_every_kind(tmp_path):
    shape = (32, 32, 3)
    tasks = [
        mtlzoo.Task("garment", "classification", num_classes=3),
        mtlzoo.Task("tags", "multilabel", num_classes=3),
        mtlzoo.Task("ink", "regression"),
        mtlzoo.Task("box", "box", num_classes=2),
        mtlzoo.Task("mask", "segmentation", num_classes=3),
        mtlzoo.Task("depth", "depth"),
        mtlzoo.Task("normals", "normals"),
    ]
    model = mtlzoo.build("tiny", tasks, shape)
    images = testing.random_images(shape, 2)
    labels = testing.random_labels(tasks, shape, 2)
    preds = model.predict(images, verbose=0)
    names = {"garment": ["shirt", "bag", "shoe"]}
    out = tmp_path / "panel.png"
    demo.write_panel(out, model, images, labels, preds, names, "title")
    assert out.read_bytes()[:4] == b"\x89PNG"
    # a prediction and its label read alike when they agree
    garment = tasks[0]
    probs = np.eye(3)[labels["garment"][0]]
    assert demo._prediction_text(garment, probs, names["garment"]) == (
        demo._label_text(garment, labels["garment"][0], names["garment"])
    )
    # dense tasks are scored by their primary metric
    for task in tasks[4:]:
        metric, value = demo._sample_score(
            task, labels[task.name][0], preds[task.name][0]
        )
        assert metric == task.primary_metric_name and np.isfinite(value)
    perfect = np.eye(3)[labels["mask"][0]]
    metric, value = demo._sample_score(tasks[4], labels["mask"][0], perfect)
    assert (metric, value) == ("mean_iou", pytest.approx(1.0))


@pytest.mark.large
def test_default_demo(tmp_path):
    result = demo.run_demo(out=tmp_path / "demo.png", verbose=False)
    assert result["name"] == demo.DEFAULT_PRESET
    assert result["seconds"] < 60
