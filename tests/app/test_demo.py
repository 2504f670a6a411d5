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


# ------------------------------------------------- converted presets: photos
def _converted_presets():
    from mtlzoo.presets import converted
    from mtlzoo.presets import registry

    return [
        name
        for name in registry.list_models()
        if converted.is_converted(registry.get_config(name))
    ]


def _drawn_points(png, result, tasks, photo, crop_box):
    """`(hits, shown)`: drawn keypoints whose centre pixel has a point
    colour, of those inside the view."""
    from PIL import Image

    from mtlzoo.app import drawing
    from mtlzoo.app import photo_demo

    image = np.asarray(Image.open(png).convert("RGB"))
    view = photo_demo.view_box(photo, crop_box)
    origin, scale = drawing.view_transform(view, 512)
    colours = {drawing.POINT, drawing.HIDDEN_POINT}
    hits = shown = 0
    for task in tasks:
        out = result[task.name]
        if task.is_dense or "points" not in out or out.get("world"):
            continue
        for p in out["points"]:
            x, y = np.round((p[:2] - origin) * scale).astype(int)
            if 0 <= x < image.shape[1] and 0 <= y < image.shape[0]:
                shown += 1
                hits += tuple(image[y, x]) in colours
    return hits, shown


def test_mtcnn_demo_draws_landmarks_and_box_on_the_astronaut(tmp_path, capsys):
    from PIL import Image

    from mtlzoo.app import cli
    from mtlzoo.app import drawing
    from mtlzoo.app import photo_demo

    out = tmp_path / "mtcnn.png"
    assert (
        cli.main(["demo", "--name", "faces_mtcnn_onet", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "landmarks: 5 points, in pixels of the photo: left_eye (" in printed
    assert "face: face (not_face 0.000, face 1.000)" in printed
    result = demo.run_demo("faces_mtcnn_onet", out=out, verbose=False)
    assert result["photo"] == "astronaut"
    assert result["crop_box"] == [170, 64, 277, 171]
    photo = photo_demo.read_photo(photo_demo.photo_path("astronaut"))
    model_tasks = mtlzoo.zoo.load("faces_mtcnn_onet", compile=False).tasks
    hits, shown = _drawn_points(
        out, result["result"], model_tasks, photo, result["crop_box"]
    )
    assert (hits, shown) == (5, 5)
    # the photo there was not the point colour: the drawing made it
    view = photo_demo.view_box(photo, result["crop_box"])
    plain = np.asarray(drawing._view(photo, view, 512))
    origin, scale = drawing.view_transform(view, 512)
    for p in result["result"]["landmarks"]["points"]:
        x, y = np.round((p - origin) * scale).astype(int)
        assert tuple(plain[y, x]) != drawing.POINT
    # the refined box is drawn in the box colour at its bottom-right corner
    image = np.asarray(Image.open(out).convert("RGB"))
    x2, y2 = (np.asarray(result["result"]["box"]["box"][2:]) - origin) * scale
    corner = image[int(y2) - 2 : int(y2) + 2, int(x2) - 2 : int(x2) + 2]
    assert (corner == drawing.BOX).all(-1).any()


@pytest.mark.parametrize("name", _converted_presets())
def test_every_converted_preset_demo_draws(tmp_path, name):
    from mtlzoo.app import photo_demo
    from mtlzoo.presets import first_use

    config = mtlzoo.zoo.get_config(name)
    if first_use.conversion_spec(config) and not first_use.available(config):
        pytest.skip(f"{name} is converted on first use; no source here")

    out = tmp_path / f"{name}.png"
    result = demo.run_demo(name, out=out, verbose=False)
    assert out.read_bytes()[:4] == b"\x89PNG"
    model = mtlzoo.zoo.load(name, compile=False)
    assert set(result["result"]) == {t.name for t in model.tasks}
    photo = photo_demo.read_photo(photo_demo.photo_path(result["photo"]))
    hits, shown = _drawn_points(
        out, result["result"], model.tasks, photo, result["crop_box"]
    )
    assert hits >= shown / 2, (hits, shown)
    for task in model.tasks:
        if "mask" in result["result"][task.name]:
            assert result["result"][task.name]["mask"].shape == photo.shape[:2]


def test_render_masks_edges_and_world_points():
    from mtlzoo.app import drawing

    tasks = [
        mtlzoo.Task("pose", "keypoints", num_keypoints=2, visibility=False),
        mtlzoo.Task("world", "keypoints", num_keypoints=2, visibility=False),
        mtlzoo.Task("person", "segmentation", num_classes=2),
        mtlzoo.Task("age", "regression"),
    ]
    photo = np.full((100, 200, 3), 128, "uint8")
    mask = np.zeros((100, 200), "int32")
    mask[50:, 100:] = 1
    result = {
        "pose": {"points": np.array([[20.0, 80.0], [60.0, 80.0]]),
                 "edges": [[0, 1]]},
        "world": {"points": np.array([[150.0, 30.0], [0.1, 0.2]]),
                  "world": True},
        "person": {"mask": mask},
        "age": {"value": 31.5, "unit": "years"},
    }  # fmt: skip
    image = np.asarray(drawing.render(photo, result, tasks, size=200))
    assert image.shape == (100, 200, 3)
    assert tuple(image[80, 20]) == drawing.POINT  # points
    assert tuple(image[80, 40]) == drawing.EDGE  # the edge between them
    assert tuple(image[30, 150]) == (128, 128, 128)  # world: not drawn
    blue = image[75, 150].astype(int)
    assert blue[2] > blue[0] + 40  # mask overlay, 45 % of MASK
    assert tuple(image[75, 50]) == (128, 128, 128)  # outside the mask
    assert drawing.text_lines(result, tasks) == ["age: 31.5 years"]
