"""Class names on a task: checks, config, describe/summarize defaults and
`decode_predictions`."""

import numpy as np
import pytest

from mtlzoo.tasks import Task

PETS = ["cat", "dog", "fish"]


def expect_error(match, fn, *args, **kwargs):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        fn(*args, **kwargs)
    assert "Received" in str(info.value)


def test_class_names_are_checked():
    task = Task("pet", "classification", num_classes=3, class_names=PETS)
    assert task.class_names == PETS
    assert task.get_config()["class_names"] == PETS
    assert Task.from_config(task.get_config()) == task
    assert task != Task("pet", "classification", num_classes=3)
    expect_error("but 2 class names", Task, "p", "classification", 3, None, 1.0,
                 None, class_names=["a", "b"])  # fmt: skip
    expect_error("str", Task, "p", "multilabel", 2, class_names=["a", 1])
    expect_error("list of str", Task, "p", "multilabel", 2, class_names="ab")
    expect_error("no classes", Task, "ink", "regression", class_names=["a"])
    expect_error("no classes", Task, "d", "depth", class_names=["a"])
    seg = Task("m", "segmentation", num_classes=2, class_names=("bg", "fg"))
    assert seg.class_names == ["bg", "fg"]


def test_describe_and_summarize_use_the_task_names():
    task = Task("pet", "classification", num_classes=3, class_names=PETS)
    value = np.array([0.1, 0.7, 0.2])
    assert task.describe(value) == "dog (0.70)"
    assert task.describe(np.array(2)) == "fish"
    assert task.summarize(value, top_k=2)[0] == ["dog", 0.7]
    other = ["a", "b", "c"]
    assert task.describe(value, other) == "b (0.70)"
    multi = Task("tags", "multilabel", num_classes=3, class_names=PETS)
    assert multi.describe(np.array([0.9, 0.2, 0.6])) == "cat, fish"
    box = Task("obj", "box", num_classes=3, class_names=PETS)
    text = box.describe(np.array([0.1, 0.1, 0.5, 0.5, 0.1, 0.1, 0.8]))
    assert text.endswith("fish (0.80)")
    seg = Task("m", "segmentation", num_classes=3, class_names=PETS)
    ids = np.zeros((2, 2, 3))
    ids[..., 1] = 1.0
    ids[0, 0] = [0.0, 0.0, 1.0]
    assert seg.describe(ids) == "dog 75%, fish 25%"


def test_decode_predictions_per_kind():
    task = Task("pet", "classification", num_classes=3, class_names=PETS)
    out = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], "float32")
    decoded = task.decode_predictions(out, top=2)
    assert [[name for name, _ in row] for row in decoded] == [
        ["dog", "fish"],
        ["cat", "fish"],
    ]
    assert decoded[0][0][1] == pytest.approx(0.7)
    assert task.decode_predictions({"pet": out}) == task.decode_predictions(out)
    assert len(task.decode_predictions(out, top=10)[0]) == 3
    plain = Task("pet", "classification", num_classes=3)
    assert plain.decode_predictions(out, top=1) == [
        [(1, pytest.approx(0.7))],
        [(0, pytest.approx(0.5))],
    ]
    multi = Task("tags", "multilabel", num_classes=3, class_names=PETS)
    assert multi.decode_predictions(out[:1], top=1)[0][0][0] == "dog"
    box = Task("obj", "box", num_classes=3, class_names=PETS)
    boxes = np.array([[0.1, 0.1, 0.5, 0.5, 0.1, 0.1, 0.8]])
    assert box.decode_predictions(boxes)[0][0] == ("fish", pytest.approx(0.8))
    seg = Task("m", "segmentation", num_classes=3, class_names=PETS)
    maps = np.zeros((1, 2, 2, 3))
    maps[..., 1] = 1.0
    maps[0, 0, 0] = [0.0, 0.0, 1.0]
    assert seg.decode_predictions(maps) == [
        [("dog", 0.75), ("fish", 0.25), ("cat", 0.0)]
    ]


def test_decode_predictions_errors():
    task = Task("pet", "classification", num_classes=3, class_names=PETS)
    out = np.array([[0.1, 0.7, 0.2]])
    expect_error("top", task.decode_predictions, out, top=0)
    expect_error("top", task.decode_predictions, out, top=1.5)
    expect_error("batch", task.decode_predictions, out[0])
    expect_error("batch", task.decode_predictions, np.ones((1, 4)))
    expect_error("no entry", task.decode_predictions, {"other": out})
    ink = Task("ink", "regression")
    expect_error("no classes", ink.decode_predictions, np.ones((1, 1)))
