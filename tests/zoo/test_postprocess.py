"""`mtlzoo.postprocess`, `square_box`, `crop_input` and the kinds'
`postprocess` hooks: numbers against hand computation, bad inputs named."""

import functools
import json

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo.presets import registry
from mtlzoo.tasks import _crop
from mtlzoo.zoo import post_processing

MTCNN = "faces_mtcnn_onet"


def test_points_to_image_by_hand():
    got = _crop.points_to_image([[0.5, 0.25, 0.1]], (10, 20, 110, 220))
    # x = 10 + 0.5 * 100, y = 20 + 0.25 * 200, z = 0.1 * 100
    np.testing.assert_allclose(got, [[60.0, 70.0, 10.0]])


def test_maps_to_image_by_hand_and_as_keras_resize():
    maps = np.array([[0.0, 1.0], [2.0, 3.0]], "float32")[..., None]
    got = _crop.maps_to_image(maps, (0, 0, 4, 4), (4, 4), [9.0])[..., 0]
    # half-pixel centres: sample positions 0, .25, .75, 1 along each axis
    p = np.array([0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(got, 2 * p[:, None] + p[None, :], atol=1e-6)
    resized = keras.ops.image.resize(maps[None], (4, 4), antialias=False)
    np.testing.assert_allclose(got, np.asarray(resized)[0, ..., 0], atol=1e-6)
    # the crop is columns 2..6 of an 8-wide image: outside gets the fill
    wide = _crop.maps_to_image(maps, (2, 0, 6, 4), (4, 8), [9.0])[..., 0]
    np.testing.assert_allclose(wide[:, 2:6], got, atol=1e-6)
    assert (wide[:, :2] == 9).all() and (wide[:, 6:] == 9).all()


@functools.cache
def _toy_model():
    tasks = [
        mtlzoo.Task(
            "presence", "classification", num_classes=2,
            class_names=["absent", "present"],
        ),
        mtlzoo.Task("points", "keypoints", num_keypoints=2),
        mtlzoo.Task("mask", "segmentation", num_classes=2),
        mtlzoo.Task("age", "regression"),
        mtlzoo.Task("tags", "multilabel", num_classes=3),
    ]  # fmt: skip
    return mtlzoo.build("tiny", tasks, (16, 16, 3))


def _toy_outputs(batch=1):
    mask = np.zeros((batch, 16, 16, 2), "float32")
    mask[..., 0], mask[..., 1] = 0.3, 0.7
    mask[:, :, :8, 1] = 0.2  # left half of the crop: class 0
    mask[:, :, :8, 0] = 0.8
    return {
        "presence": np.tile([[0.1, 0.9]], (batch, 1)),
        "points": np.tile([[[0.5, 0.5, 0.9], [0.0, 1.0, 0.2]]], (batch, 1, 1)),
        "mask": mask,
        "age": np.full((batch, 1), 31.5),
        "tags": np.tile([[0.2, 0.6, 0.5]], (batch, 1)),
    }


def test_postprocess_kinds_by_hand():
    model = _toy_model()
    box = (10, 20, 30, 60)  # 20 wide, 40 high, in a 50 x 40 photo
    (out,) = mtlzoo.postprocess(
        model, _toy_outputs(), image_size=(50, 40), crop_box=box
    )
    assert out["presence"]["probability"] == pytest.approx(0.9)
    assert out["presence"]["class"] == "present"
    assert out["presence"]["probabilities"] == pytest.approx(
        {"absent": 0.1, "present": 0.9}
    )
    np.testing.assert_allclose(
        out["points"]["points"], [[20.0, 40.0], [10.0, 60.0]]
    )
    np.testing.assert_allclose(out["points"]["visibility"], [0.9, 0.2])
    mask = out["mask"]["mask"]
    assert mask.shape == (50, 40) and mask.dtype == np.int32
    # class 1 exactly on the right half of the crop: x 20..30, y 20..60
    expected = np.zeros((50, 40), "int32")
    expected[20:50, 20:30] = 1
    np.testing.assert_array_equal(mask, expected)
    assert out["mask"]["fractions"] == pytest.approx([1 - 300 / 2000, 0.15])
    assert out["mask"]["probabilities"].shape == (50, 40, 2)
    assert out["age"]["value"] == pytest.approx(31.5)
    assert out["tags"]["labels"] == [1, 2]  # >= threshold 0.5
    # a higher threshold changes the two-class mask and the labels
    (strict,) = mtlzoo.postprocess(
        model, _toy_outputs(), (50, 40), box, threshold=0.75
    )
    assert strict["mask"]["mask"].sum() == 0 and strict["tags"]["labels"] == []


def test_postprocess_defaults_and_one_box_per_image():
    model = _toy_model()
    (out,) = mtlzoo.postprocess(model, _toy_outputs())
    # no photo: the input's own frame, 16 x 16 pixels
    np.testing.assert_allclose(out["points"]["points"][0], [8.0, 8.0])
    assert out["mask"]["mask"].shape == (16, 16)
    (whole,) = mtlzoo.postprocess(model, _toy_outputs(), image_size=(16, 32))
    np.testing.assert_allclose(whole["points"]["points"][1], [0.0, 16.0])
    boxes = [(0, 0, 10, 10), (100, 100, 120, 140)]
    first, second = mtlzoo.postprocess(
        model, _toy_outputs(2), image_size=(200, 200), crop_box=boxes
    )
    np.testing.assert_allclose(first["points"]["points"][0], [5.0, 5.0])
    np.testing.assert_allclose(second["points"]["points"][0], [110.0, 120.0])


def test_mtcnn_box_offsets_by_hand_from_the_preset_name():
    outputs = {
        "face": np.array([[0.2, 0.8]]),
        "box": np.array([[0.1, -0.1, 0.2, 0.0]]),
        "landmarks": np.full((1, 5, 2), 0.5),
    }
    (out,) = mtlzoo.postprocess(MTCNN, outputs, crop_box=(100, 50, 200, 150))
    # x1' = x1 + dx1 * w, ...: 100 + 10, 50 - 10, 200 + 20, 150 + 0
    assert out["box"]["box"] == pytest.approx([110.0, 40.0, 220.0, 150.0])
    assert out["face"]["probability"] == pytest.approx(0.8)
    np.testing.assert_allclose(out["landmarks"]["points"], [[150, 100]] * 5)
    assert out["landmarks"]["names"][0] == "left_eye"


def test_square_box_and_crop_input_by_hand():
    # MTCNN's astronaut face (x, y, w, h) = (182, 64, 83, 107)
    assert mtlzoo.zoo.square_box((182, 64, 265, 171)) == (170, 64, 277, 171)
    assert mtlzoo.zoo.square_box((0, 0, 10, 4), scale=2.0) == (-5, -8, 15, 12)
    photo = np.arange(10 * 10 * 3, dtype="float32").reshape(10, 10, 3)
    batch = mtlzoo.zoo.crop_input(photo, (-2, -2, 4, 4), (6, 6, 3))
    assert batch.shape == (1, 6, 6, 3)
    assert (batch[0, :2] == 0).all() and (batch[0, :, :2] == 0).all()
    np.testing.assert_array_equal(batch[0, 2:, 2:], photo[:4, :4])


def test_real_mtcnn_on_the_astronaut():
    from mtlzoo.app import photo_demo

    photo = photo_demo.read_photo(photo_demo.photo_path("astronaut"))
    model = mtlzoo.load(MTCNN, compile=False)
    box = mtlzoo.zoo.square_box((182, 64, 265, 171))
    out = model.predict(mtlzoo.zoo.crop_input(photo, box, model), verbose=0)
    (result,) = mtlzoo.postprocess(model, out, photo.shape[:2], box)
    assert result["face"]["probability"] > 0.99
    points = result["landmarks"]["points"]
    left, top, right, bottom = result["box"]["box"]
    assert (points[:, 0] > left).all() and (points[:, 0] < right).all()
    assert (points[:, 1] > top).all() and (points[:, 1] < bottom).all()
    eyes, nose, mouth = points[:2], points[2], points[3:]
    assert eyes[:, 1].max() < nose[1] < mouth[:, 1].min()  # eyes on top
    assert eyes[0, 0] < eyes[1, 0] and mouth[0, 0] < mouth[1, 0]
    # the same numbers as mapping the crop fractions by hand
    frac = out["landmarks"][0]
    np.testing.assert_allclose(points, box[:2] + frac * 107, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"outputs": [1]}, "`outputs` must be the dict"),
        ({"outputs": {"presence": np.zeros((1, 2))}}, "lacks tasks"),
        ({"bad_shape": "age"}, "Output 'age' must be a batch of shape"),
        ({"batch": (1, 2)}, "same, non-zero batch size"),
        ({"crop_box": (5, 5, 1, 1)}, "right > left"),
        ({"crop_box": (0, 0, 1)}, "4 finite numbers"),
        ({"crop_box": (0, float("nan"), 1, 1)}, "4 finite numbers"),
        ({"crop_box": [(0, 0, 1, 1)] * 3}, "one per image"),
        ({"image_size": (10,)}, "`image_size` must be (height, width)"),
        ({"image_size": (10, 0)}, "`image_size` must be (height, width)"),
        ({"threshold": 2}, "`threshold` must be a number in [0, 1]"),
        ({"crop_box": (0, 0, 4, 4), "image_size": None}, "Dense tasks"),
    ],
)
def test_bad_inputs_are_named(kwargs, message):
    model = _toy_model()
    outputs = _toy_outputs()
    if "bad_shape" in kwargs:
        outputs[kwargs.pop("bad_shape")] = np.zeros((1, 3))
    if "batch" in kwargs:
        outputs = _toy_outputs(kwargs.pop("batch")[1])
        outputs["age"] = outputs["age"][:1]
    outputs = kwargs.pop("outputs", outputs)
    args = {"image_size": (16, 16), **kwargs}
    with pytest.raises((ValueError, TypeError)) as info:
        mtlzoo.postprocess(model, outputs, **args)
    assert message in str(info.value) and "Received:" in str(info.value)


def test_bad_model_and_boxes_are_named():
    with pytest.raises(TypeError, match="Received: model=3"):
        mtlzoo.postprocess(3, {})
    with pytest.raises(ValueError, match="Received:"):
        mtlzoo.postprocess("no_such_preset", {})
    with pytest.raises(ValueError, match="whole pixels.*Received: crop_box"):
        mtlzoo.zoo.crop_input(np.zeros((4, 4, 3)), (0, 0, 2.5, 2), (2, 2, 3))
    with pytest.raises(ValueError, match="Received: scale=0"):
        mtlzoo.zoo.square_box((0, 0, 1, 1), scale=0)


def test_schema_checks_the_postprocess_block():
    config = registry.get_config(MTCNN)
    assert config["source"]["postprocess"]["tasks"]["box"]["as"] in (
        post_processing.INTERPRETATIONS
    )
    bad = json.loads(json.dumps(config))
    bad["source"]["postprocess"]["tasks"] = {
        "nope": {"as": "value"},
        "box": {"as": "sideways"},
    }
    bad["source"]["postprocess"]["demo"] = {"crop_box": [1, 2]}
    with pytest.raises(ValueError) as info:
        mtlzoo.zoo.validate_config(bad)
    text = str(info.value)
    assert "source.postprocess.tasks.nope: no such task" in text
    assert "source.postprocess.tasks.box.as must be one of" in text
    assert "source.postprocess.demo needs a photo name" in text


def test_howto_real_presets_blocks_run(tmp_path, monkeypatch):
    """docs/howto/real_presets.md, every python block in order."""
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "howto"
    text = (page / "real_presets.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "docs"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"real_presets.md[block {i}]", "exec"), ns)
    assert ns["box"] == (170, 64, 277, 171)
    assert ns["result"]["face"]["probability"] > 0.99
    assert ns["result"]["landmarks"]["points"].shape == (5, 2)
    assert ns["person"]["age"]["unit"] == "years"
    assert 10 < ns["person"]["age"]["value"] < 80
    assert set(ns["person"]["gender"]["probabilities"]) == {"male", "female"}
    pose = ns["pose"]
    assert pose["segmentation"]["mask"].shape == (512, 512)
    assert pose["world"]["world"] and pose["world"]["unit"] == "metres"
    left, right = ns["shoulders"]  # the person's left is the photo's right
    assert 100 < right[0] < left[0] < 350 and 150 < left[1] < 260
    for png in ("astronaut_face.png", "astronaut_pose.png"):
        assert (tmp_path / png).stat().st_size > 0


def _converted_presets():
    from mtlzoo.presets import converted

    return [
        name
        for name in registry.list_models()
        if converted.is_converted(registry.get_config(name))
    ]


@pytest.mark.parametrize("name", _converted_presets())
def test_every_converted_preset_maps_its_outputs(name):
    """World points (metres) are declared, skeleton edges index real
    points, and crop fractions land in the crop, from the preset name."""
    config = registry.get_config(name)
    source = config["source"]
    spec = (source.get("postprocess") or {}).get("tasks") or {}
    for task, meaning in (source.get("outputs") or {}).items():
        if "metres" in meaning:
            assert spec.get(task, {}).get("as") == "world", (task, spec)
    arch = config["architecture"]
    tasks = {t["name"]: t for t in arch["tasks"]}
    for task, entry in spec.items():
        for i, j in entry.get("edges", []):
            assert 0 <= i < tasks[task]["num_keypoints"] > j >= 0
    shape = tuple(arch["input_shape"])
    rng = np.random.default_rng(0)
    outputs = {
        t.name: rng.uniform(size=(1,) + tuple(t.output_shape(shape)))
        for t in post_processing._tasks_spec(name)[0]
    }
    box = (100, 50, 300, 250)
    (out,) = mtlzoo.postprocess(
        name, outputs, image_size=(400, 400), crop_box=box
    )
    for task, values in out.items():
        if tasks[task]["kind"] == "keypoints" and not values.get("world"):
            xy = values["points"][:, :2]
            assert (xy[:, 0] >= 100).all() and (xy[:, 0] <= 300).all()
            assert (xy[:, 1] >= 50).all() and (xy[:, 1] <= 250).all()
        if "mask" in values:
            assert values["mask"].shape == (400, 400)
            assert values["mask"][:50].sum() == 0  # above the crop


def test_box_kind_hook_by_hand():
    task = mtlzoo.Task("thing", "box", num_classes=2, class_names=["a", "b"])
    value = [0.1, 0.2, 0.5, 0.6, 0.3, 0.7]  # [y1, x1, y2, x2], then classes
    out = task.postprocess(value, (10, 20, 110, 220), (300, 300))
    # x1 = 10 + 0.2 * 100, y1 = 20 + 0.1 * 200, x2 = 10 + 0.6 * 100, ...
    assert out["box"] == pytest.approx([30.0, 40.0, 70.0, 120.0])
    assert (out["class"], out["score"]) == ("b", pytest.approx(0.7))
